"""Find the report's tables (RQ2 groups, power, RQ3) in the CSV tables or results.json, whatever their exact shape.

The group-alignment and RQ3 analyses name their columns independently of the report; this module
maps the known spellings onto one canonical set and picks the table that holds each kind of result.
Anything it cannot find is simply left out of the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

#: canonical column -> accepted spellings (first match wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "group": ("group", "group_name", "group_label", "name"),
    "machine": ("machine", "model", "machine_rater"),
    "rater_id": ("rater_id", "rater"),
    "r": ("r", "pearson_r", "correlation", "corr", "r_raw", "raw_r"),
    "ci_low": ("ci_low", "ci_lo", "lower", "lo", "r_ci_low"),
    "ci_high": ("ci_high", "ci_hi", "upper", "hi", "r_ci_high"),
    "reliability": ("reliability", "split_half_reliability", "rel", "group_reliability"),
    "adjusted_r": ("adjusted_r", "r_adjusted", "adj_r", "r_adj", "reliability_adjusted_r"),
    "size": ("size", "n_raters", "group_size"),
    "n_items": ("n_items", "items", "n"),
    "power": ("power", "estimated_power", "power_sim"),
    "comparison": ("comparison", "pair", "contrast"),
    "group_a": ("group_a", "a", "group1", "g1"),
    "group_b": ("group_b", "b", "group2", "g2"),
    "predictor": ("predictor", "prediction", "kind", "form", "method"),
    "ceiling": ("noise_ceiling", "ceiling"),
    "r_over_ceiling": ("r_over_ceiling", "r_ceiling_adjusted", "r_normalised", "r_normalized", "ceiling_adjusted_r"),
    "p_value": ("p_value", "p", "p_perm", "permutation_p"),
    "auc": ("auc", "sign_auc"),
    "observed": ("observed", "observed_d", "d", "difference", "d_observed"),
    "predicted": ("predicted", "predicted_d", "prediction_value", "d_predicted"),
    "item_id": ("item_id", "item"),
    "p_holm": ("p_holm", "p_perm_holm", "holm", "p_value_holm"),
    "p_bh": ("p_bh", "p_perm_bh", "bh", "p_value_bh", "p_fdr"),
    "difference": ("difference", "diff", "r_difference"),
}


def canonical(frame: pd.DataFrame, wanted: Iterable[str], avoid: Iterable[str] = ()) -> pd.DataFrame:
    """A copy of ``frame`` with the first matching alias of each wanted column renamed to its canonical name."""
    out = frame.copy()
    taken = set(avoid)
    lower = {str(c).lower(): c for c in out.columns}
    for name in wanted:
        if name in out.columns:
            continue
        for alias in ALIASES.get(name, (name,)):
            col = lower.get(alias)
            if col is not None and col not in taken and col in out.columns and col not in wanted:
                out = out.rename(columns={col: name})
                taken.add(name)
                break
    return out


def _records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _leaf_row(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and any(not isinstance(v, (Mapping, list)) for v in value.values())


def frames_in(section: Any, machines: Sequence[str] = (), path: str = "") -> list[tuple[str, pd.DataFrame]]:
    """Every table-like part of a results section: lists of records and (nested) dicts of rows."""
    found: list[tuple[str, pd.DataFrame]] = []
    if _records(section):
        found.append((path, pd.json_normalize(section, max_level=1)))
        for key in dict.fromkeys(k for rec in section for k, v in rec.items() if _records(v)):
            rows = [{**{a: b for a, b in rec.items() if not isinstance(b, (Mapping, list))}, **child}
                    for rec in section for child in (rec.get(key) or [])]
            found.append((f"{path}.{key}", pd.DataFrame(rows)))
        return found
    if not isinstance(section, Mapping):
        return found
    values = list(section.values())
    if values and all(_leaf_row(v) for v in values):
        key = "machine" if set(section) <= set(machines) and machines else "group"
        rows = [{key: k, **{a: b for a, b in v.items() if not isinstance(b, (Mapping, list))}} for k, v in section.items()]
        found.append((path, pd.DataFrame(rows)))
    elif values and all(isinstance(v, Mapping) and v and all(_leaf_row(w) for w in v.values()) for v in values):
        outer_machine = bool(machines) and set(section) <= set(machines)
        rows = []
        for k, inner in section.items():
            for k2, v in inner.items():
                keys = {"machine": k, "group": k2} if outer_machine else {"group": k, "machine": k2}
                rows.append({**keys, **{a: b for a, b in v.items() if not isinstance(b, (Mapping, list))}})
        found.append((path, pd.DataFrame(rows)))
    for k, v in section.items():
        if isinstance(v, (Mapping, list)):
            found.extend(frames_in(v, machines, f"{path}.{k}" if path else str(k)))
    return found


def candidates(prefix: str, results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    """Tables named ``prefix*`` first, then the tables found inside results[prefix]."""
    machines = list((results.get("rq1") or {}).get("machines", {}) or {})
    out = [(name, frame) for name, frame in tables.items() if name.startswith(prefix) and isinstance(frame, pd.DataFrame)]
    if prefix in results and results[prefix]:
        out.extend((f"{prefix}.{p}" if p else prefix, f) for p, f in frames_in(results[prefix], machines))
    return out


def find(
    found: list[tuple[str, pd.DataFrame]],
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    without: Sequence[str] = (),
    prefer: Sequence[str] = (),
) -> pd.DataFrame | None:
    """The first candidate with all required columns (and none of ``without``), preferring names with ``prefer`` words."""
    ranked = sorted(found, key=lambda nf: 0 if any(w in nf[0].lower() for w in prefer) else 1)
    for _name, frame in ranked:
        if frame.empty:
            continue
        out = canonical(frame, [*required, *optional, *without])
        if all(c in out.columns for c in required) and not any(c in out.columns for c in without):
            return out
    return None


def rq2_sections(results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Canonical RQ2 frames: ``groups`` (per group x machine r), ``raters``, ``power``, ``pairs`` when present."""
    found = candidates("rq2", results, tables)
    out: dict[str, pd.DataFrame] = {}
    groups = find(
        found,
        ["group", "r", "ci_low", "ci_high"],
        ["machine", "reliability", "adjusted_r", "size"],
        without=["rater_id", "group_a", "power"],
        prefer=["group", "alignment"],
    )
    if groups is not None:
        out["groups"] = groups
    raters = find(found, ["group", "rater_id", "r"], ["machine"], prefer=["rater", "variation", "within"])
    if raters is not None:
        out["raters"] = raters
    power = find(found, ["n_items", "power"], ["comparison", "group_a", "group_b", "machine"], prefer=["power"])
    if power is not None:
        if "raters_per_group" in power.columns and (power["raters_per_group"].astype(str) == "observed").any():
            power = power[power["raters_per_group"].astype(str) == "observed"]
        out["power"] = power
    for key in ("omnibus", "within_group", "variance_share", "power_items_needed", "excluded_groups"):
        frame = named(found, key)
        if frame is not None:
            out[key] = frame
    pairs = find(
        found,
        ["group_a", "group_b"],
        ["machine", "difference", "ci_low", "ci_high", "p_value", "p_holm", "p_bh"],
        without=["power"],
        prefer=["pair", "difference", "disparit"],
    )
    if pairs is not None:
        out["pairs"] = pairs
    return out


def rq3_sections(results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Canonical RQ3 frames: ``summary`` (per pair x predictor r, CI, ceiling) and ``items`` (per-item d) when present."""
    found = candidates("rq3", results, tables)
    out: dict[str, pd.DataFrame] = {}
    summary = find(
        found,
        ["r"],
        ["group_a", "group_b", "comparison", "predictor", "machine", "ci_low", "ci_high", "ceiling", "r_over_ceiling", "p_value", "auc"],
        without=["item_id"],
        prefer=["summary", "pair", "prediction"],
    )
    if summary is not None:
        out["summary"] = with_series(summary)
    items = find(found, ["observed", "predicted"], ["item_id", "group_a", "group_b", "comparison", "predictor", "machine"], prefer=["item"])
    if items is None:
        items = wide_items(found)
    if items is not None:
        out["items"] = with_series(items)
    return out


def with_series(frame: pd.DataFrame) -> pd.DataFrame:
    """Add 'series': the kind of prediction (persona/baseline), with the predictor's name when there are several."""
    out = frame.copy()
    if "kind" in out.columns and "predictor" in out.columns:
        several = out["predictor"].nunique() > 1
        out["series"] = out["kind"].astype(str) + (" (" + out["predictor"].astype(str) + ")" if several else "")
    elif "predictor" in out.columns:
        out["series"] = out["predictor"].astype(str)
    else:
        out["series"] = "prediction"
    return out


def named(found: list[tuple[str, pd.DataFrame]], word: str) -> pd.DataFrame | None:
    """The first non-empty candidate whose name contains ``word``."""
    return next((f for n, f in found if word in n.lower() and not f.empty), None)


def wide_items(found: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame | None:
    """Per-item RQ3 table with one 'kind:name' column per predictor, melted to observed/predicted/predictor rows."""
    for name, frame in found:
        if "item" not in name.lower() or frame.empty:
            continue
        frame = canonical(frame, ["item_id", "group_a", "group_b", "comparison"])
        observed = next((c for c in ("difference", "observed", "d") if c in frame.columns), None)
        predictors = [c for c in frame.columns if ":" in str(c)]
        if observed and predictors and "item_id" in frame.columns:
            keys = [c for c in ("item_id", "group_a", "group_b", "comparison") if c in frame.columns]
            long = frame.melt(id_vars=[*keys, observed], value_vars=predictors, var_name="predictor", value_name="predicted")
            return long.rename(columns={observed: "observed"})
    return None


def label_pair(frame: pd.DataFrame) -> pd.Series:
    """A readable name per row for a comparison of two groups."""
    if "group_a" in frame.columns and "group_b" in frame.columns:
        return frame["group_a"].astype(str) + " vs " + frame["group_b"].astype(str)
    if "comparison" in frame.columns:
        return frame["comparison"].astype(str)
    if "group" in frame.columns:
        return frame["group"].astype(str)
    return pd.Series([f"comparison {i + 1}" for i in range(len(frame))], index=frame.index)
