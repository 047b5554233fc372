"""Machine-rater files: an LLM's (or any model's) ratings of the items of a data set.

Format (CSV, JSONL, JSON or Parquet): ``item_id`` and either a numeric ``score`` or a ``label``
mapped by a rating map, or a ``text`` column with the model's raw answer, which the engine's
strict parser reads (``--parse TEMPLATE``); optionally a ``rater`` column for several machine raters
in one file. A blank score or label, or an answer the parser cannot read, is an item the machine
did not rate (a refusal, a parse failure): it is reported and left out, never filled in. Without a
``rater`` column the rater is named after the file, minus a known table suffix only
(``gpt-4.1-mini.csv`` is ``gpt-4.1-mini``).
"""


from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings, combine
from annalign.core.ratingmap import RatingMap
from annalign.datasets.machine_distributions import expected_scores, read_shares, share_columns
from annalign.datasets.tables import ids_as_text, read_table, require_columns, table_stem
from annalign.errors import InputError, shown, warn

#: Columns that may hold a model's raw answer text, in the order they are looked for.
TEXT_COLUMNS = ("text", "raw_output")

def _parse_texts(frame: pd.DataFrame, column: str, answers: Mapping[str, float], where: str) -> np.ndarray:
    """Run the engine's strict answer parser on a column of raw model text; unparsed rows become NaN (reported)."""
    from annalign.engine.parsing import parse_answer

    labels = list(answers)
    values = np.full(len(frame), np.nan)
    reasons: dict[str, int] = {}
    first: tuple[int, str, str] | None = None
    for k, (text, row) in enumerate(zip(frame[column], frame["_row"], strict=True)):
        if text is None or (isinstance(text, float) and np.isnan(text)):
            continue
        result = parse_answer(str(text), labels)
        if result.ok:
            values[k] = answers[result.answer]  # type: ignore[index]
        else:
            reasons[result.reason] = reasons.get(result.reason, 0) + 1
            if first is None:
                first = (int(row), str(text)[:60], result.reason)
    if first is not None:
        n = sum(reasons.values())
        warn(
            f"{where}, column {column!r}: {n} of {len(frame)} answers could not be parsed and are left out "
            f"(e.g. row {first[0]}: {first[1]!r}: {first[2]})"
        )
    return values


def machine_ratings_from_frame(
    frame: pd.DataFrame,
    data: Annotations,
    *,
    where: str,
    default_name: str,
    rating_map: RatingMap | None = None,
    parse: Mapping[str, float] | None = None,
    scales: Mapping[str, tuple[float, float]] | None = None,
) -> MachineRatings:
    """Align one machine-rater table to ``data``; see the module docstring for the format.

    ``parse`` (answer -> value, from a template) runs the strict parser on the ``text`` column (or
    the ``label`` column when there is none); a ``text`` column alone is parsed against the rating
    map's labels. ``scales`` ({rater or "*": (LO, HI)}) refuses scores outside a declared range.
    """
    rmap = rating_map or data.rating_map
    frame = frame.copy()
    shares = share_columns(frame, data, where)
    if shares is not None:
        columns, labels, positions = shares
        p = read_shares(frame, columns, where)
        frame = frame.assign(**{f"_p{k}": p[:, k] for k in range(len(labels))})
        if not ({"score", "label", *TEXT_COLUMNS} & set(frame.columns)):
            frame["score"] = expected_scores(p, positions)
    parse, text_col = _reading(frame, rmap, parse, where)
    frame["item_id"] = ids_as_text(frame["item_id"], where=where, what="item id")
    if frame["item_id"].isna().any():
        raise InputError(f"{where}, row {int(frame.loc[frame['item_id'].isna(), '_row'].iloc[0])}: item_id is empty")
    frame["_value"] = _parse_texts(frame, text_col or "label", parse, where) if parse is not None else _values(frame, rmap, where)
    if "rater" in frame.columns:
        frame["rater"] = frame["rater"].astype(object).where(frame["rater"].notna(), default_name).astype(str)
    else:
        frame["rater"] = default_name
    frame["_pos"] = _positions(frame, data, where)
    frame = frame[frame["_pos"] >= 0]
    names = list(dict.fromkeys(frame["rater"]))
    scores = np.full((data.n_items, len(names)), np.nan)
    unrated: dict[str, list[str]] = {}
    distributions: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        part = _one_rater(frame[frame["rater"] == name], name, (scales or {}).get(name, (scales or {}).get("*")), data, where)
        scores[part["_pos"].to_numpy(), k] = part["_value"].to_numpy()
        unrated[name] = _unrated(scores[:, k], part, name, data, where)
        if shares is not None:
            dist = np.full((data.n_items, len(shares[1])), np.nan)
            dist[part["_pos"].to_numpy()] = part[[f"_p{j}" for j in range(len(shares[1]))]].to_numpy(dtype=float)
            distributions[name] = dist
    return MachineRatings(names=names, scores=scores, sources=[where] * len(names), unrated=unrated, rating_map=rating_map,
                          distributions=distributions, distribution_labels=shares[1] if shares is not None else ())  # fmt: skip


def _reading(
    frame: pd.DataFrame, rmap: RatingMap, parse: Mapping[str, float] | None, where: str
) -> tuple[Mapping[str, float] | None, str | None]:
    """How the table's ratings are read: (answers to parse raw text against, or None; the raw-text column)."""
    require_columns(frame, ["item_id"], where)
    has_score, has_label = "score" in frame.columns, "label" in frame.columns
    text_col = next((c for c in TEXT_COLUMNS if c in frame.columns), None)
    if parse is None and not (has_score or has_label) and text_col is not None:
        if rmap.numeric:
            raise InputError(
                f"{where}: column {text_col!r} holds raw answers; say how to read them with --parse TEMPLATE "
                "(the rating map is numeric, so it has no labels to look for)"
            )
        parse = dict(rmap.mapping)
    if not (has_score or has_label or parse is not None):
        raise InputError(
            f"{where}: needs a 'score' column (numbers), a 'label' column (mapped by the rating map) "
            "or a 'text' column of raw answers (--parse TEMPLATE)"
        )
    if parse is not None and text_col is None and not has_label:
        raise InputError(f"{where}: --parse needs a 'text' (or 'label') column with the model's raw answers")
    return parse, text_col


def _values(frame: pd.DataFrame, rmap: RatingMap, where: str) -> np.ndarray:
    """Each row's rating from its score, else its label (a score and a label that disagree: warned, the score wins)."""
    rows = frame["_row"].tolist()
    if "score" not in frame.columns:
        return rmap.apply(frame["label"], where=f"{where}, column 'label'", rows=rows, option="--machine-rating-map")
    values = RatingMap.numeric_scale().apply(frame["score"], where=f"{where}, column 'score'", rows=rows)
    if "label" not in frame.columns:
        return values
    label_values = rmap.apply(frame["label"], where=f"{where}, column 'label'", rows=rows, option="--machine-rating-map")
    both = np.isfinite(values) & np.isfinite(label_values)
    if "n_samples" in frame.columns:  # the engine's files: a mean over samples need not equal the modal label
        samples = pd.to_numeric(frame["n_samples"], errors="coerce").fillna(1).to_numpy()
        both &= samples <= 1
    if "score_method" in frame.columns:  # the engine's log-probability scores are expected values, not the top label's
        both &= frame["score_method"].astype(str).str.lower().ne("logprobs").to_numpy()
    clash = both & ~np.isclose(values, label_values, rtol=0, atol=1e-9)
    if clash.any():
        k = int(np.flatnonzero(clash)[0])
        warn(
            f"{where}, row {rows[k]}: score {values[k]:g} and label {shown(frame['label'].iloc[k])} "
            f"(= {label_values[k]:g}) disagree ({int(clash.sum())} such rows); the score is used"
        )
    return np.where(np.isnan(values), label_values, values)


def _positions(frame: pd.DataFrame, data: Annotations, where: str) -> np.ndarray:
    """Each row's item position in ``data`` (-1 for an item the data set does not have).

    Rows for items outside the human data are left out with a warning naming the first (as the alt-test
    authors' code ignores them); when no row names a known item the file is refused, naming the first row.
    """
    position = pd.Index(data.item_ids).get_indexer(frame["item_id"])
    if (position < 0).any():
        bad = frame.loc[position < 0]
        where_first = f"{where}, row {int(bad['_row'].iloc[0])}: item_id {bad['item_id'].iloc[0]!r} is not in data set {data.name}"
        if (position < 0).all():
            raise InputError(f"{where_first} (nor is any other item of the file's {len(bad)} rows; is this the right --dataset?)")
        warn(f"{where_first}; {len(bad)} of {len(frame)} rows name items outside the human data and are left out")
    return position


def _one_rater(part: pd.DataFrame, name: str, scale: tuple[float, float] | None, data: Annotations, where: str) -> pd.DataFrame:
    """One rater's rows, checked against its declared scale, with identical duplicates dropped (conflicting ones refused)."""
    if scale is not None:
        lo, hi = scale
        outside = np.isfinite(part["_value"].to_numpy()) & ~part["_value"].between(lo - 1e-9, hi + 1e-9).to_numpy()
        if outside.any():
            bad = part.loc[outside].iloc[0]
            raise InputError(
                f"{where}, row {int(bad['_row'])}: machine rater {name!r} score {bad['_value']:g} lies outside "
                f"--machine-scale {lo:g},{hi:g} ({int(outside.sum())} such rows)"
            )
    dup = part.duplicated("_pos", keep=False)
    if not dup.any():
        return part
    conflict = part.loc[dup].groupby("_pos")["_value"].nunique(dropna=False)
    if (conflict > 1).any():
        item = data.item_ids[int(conflict[conflict > 1].index[0])]
        rows_of = part.loc[part["_pos"] == int(conflict[conflict > 1].index[0]), "_row"].tolist()
        raise InputError(f"{where}: machine rater {name!r} gives item {item!r} two different ratings (rows {', '.join(map(str, rows_of))})")
    warn(f"{where}: {int(part.duplicated('_pos').sum())} identical duplicate row(s) of machine rater {name!r} dropped")
    return part.drop_duplicates("_pos")


def _unrated(column: np.ndarray, part: pd.DataFrame, name: str, data: Annotations, where: str) -> list[str]:
    """Ids of the items one rater left without a usable rating (warned); fewer than 3 rated items is an error."""
    missing = data.item_ids[~np.isfinite(column)]
    blank_rows = int(part["_value"].isna().sum())
    if len(missing):
        warn(
            f"{where}: machine rater {name!r} has no usable rating for {len(missing)} of {data.n_items} items "
            f"({blank_rows} blank or unparsed in the file, {len(missing) - blank_rows} absent); they are left out"
        )
    if np.isfinite(column).sum() < 3:
        raise InputError(f"{where}: machine rater {name!r} rated fewer than 3 items of {data.name}; correlations need at least 3")
    return [str(i) for i in missing]


def load_machine_ratings(
    paths: Sequence[str | Path],
    data: Annotations,
    *,
    rating_map: RatingMap | str | None = None,
    parse: str | Path | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
) -> MachineRatings:
    """Read and align several machine-rater files; rater names must be unique across files.

    ``parse`` names a prompt template whose answers the strict parser looks for in raw answer
    text; ``scales`` ({rater or "*": (LO, HI)}) refuses scores outside the declared range.
    """
    rmap = RatingMap.parse(rating_map) if rating_map is not None else None
    answers = None
    if parse is not None:
        from annalign.engine.prompts import load_template

        answers = load_template(parse).answer_values
    checked = {k: (float(v[0]), float(v[1])) for k, v in (scales or {}).items()}
    parts = [
        machine_ratings_from_frame(
            _machine_table(Path(p)), data, where=str(p), default_name=table_stem(p), rating_map=rmap, parse=answers, scales=checked
        )
        for p in paths
    ]
    return combine(parts)


def _machine_table(path: Path) -> pd.DataFrame:
    """A machine-rater file as a table; an alt-test LLM JSON ({rater: {item_id: label}}) becomes item_id, rater, label rows."""
    if path.name.lower().endswith(".json") and path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"{"):
            from annalign.datasets import peer_formats

            try:
                doc = peer_formats.read_json_document(path)
            except InputError:
                return read_table(path)  # JSON Lines in a .json file
            if peer_formats.is_alttest(doc):
                return peer_formats.alttest_machine_frame(doc, str(path))
    return read_table(path)
