"""Multi-annotator JSON layouts that peers publish, read as long frames so every check of the long form applies.

* ``alttest``: the alternative annotator test authors' files (github.com/nitaytech/AltTest, ``data/*/``):
  ``human_annotations.json`` and ``llm_annotations.json`` both ``{annotator_id: {item_id: label}}``;
  the human file is a data set, the LLM file a machine-rater file (each top-level key one machine rater).
* ``judgebench``: JUDGE-BENCH data files (github.com/dmg-illc/JUDGE-BENCH, ``data/*/*.json``): a header
  ``annotations`` list declaring each ``metric`` (``category`` graded/continuous with ``worst``/``best``,
  or categorical with ``labels_list``) and ``instances``, each with ``id`` and
  ``annotations: {metric: {"individual_human_scores": [...]}}``. The file names no annotators: the
  position in the list is the rater id (``h1``, ``h2`` ...), the published order, not a stable person.
* ``lewidi``: Learning With Disagreements (SemEval 2023, LeWiDi 2025): items keyed by id, each with
  ``annotators`` ("Ann1,Ann2") and ``annotations``: comma-separated labels in 2023, ``{annotator: label}``
  in 2025. A 2025 ``<Dataset>_annotators_meta.json`` beside the file ({annotator: {Age, Gender ...}})
  gives rater attributes; 2023's ``other_info["annotators group"]`` gives a ``group`` attribute.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from annalign.core.ratingmap import RatingMap
from annalign.errors import InputError, shown, warn

#: The peer layouts ``--format`` accepts, in the order ``auto`` tries them.
PEER_FORMATS = ("judgebench", "lewidi", "alttest")

_SCALAR = (str, int, float, bool, type(None))


def read_json_document(path: Path) -> Any:
    """The parsed JSON document of ``path``; one-line errors naming the file."""
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None


def is_alttest(doc: Any) -> bool:
    """An object of objects whose values are all single labels: ``{annotator: {item: label}}``."""
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(isinstance(v, dict) for v in doc.values())
        and all(isinstance(label, _SCALAR) for v in doc.values() for label in v.values())
    )


def is_judgebench(doc: Any) -> bool:
    """A JUDGE-BENCH file: a header ``annotations`` list and an ``instances`` list."""
    return isinstance(doc, dict) and isinstance(doc.get("instances"), list) and isinstance(doc.get("annotations"), list)


def is_lewidi(doc: Any) -> bool:
    """A LeWiDi file: items keyed by id, each an object with ``annotations`` (and usually ``annotators``)."""
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(isinstance(v, dict) for v in doc.values())
        and all("annotations" in v for v in doc.values())
    )


def detect(doc: Any) -> str | None:
    """Which peer layout ``doc`` has (judgebench, lewidi, alttest), or None."""
    if is_judgebench(doc):
        return "judgebench"
    if is_lewidi(doc):
        return "lewidi"
    if is_alttest(doc):
        return "alttest"
    return None


def _label(value: Any, where: str) -> Any:
    """One rating as read: a string or a number; None is no rating; a list or object is refused."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float)) or value is None:
        return value
    raise InputError(f"{where}: a rating must be a label or a number, got {shown(json.dumps(value)[:40])}")


def _frame(rows: list[dict[str, Any]], where: str) -> pd.DataFrame:
    """Rows of (item_id, rater_id, rating, ...) as a long frame with a ``_row`` (rating number) column."""
    rows = [r for r in rows if r["rating"] is not None and str(r["rating"]).strip() != ""]
    if not rows:
        raise InputError(f"{where}: no ratings found")
    frame = pd.DataFrame(rows).astype(object)
    frame["_row"] = range(1, len(frame) + 1)
    return frame


def alttest_long(doc: Any, where: str) -> pd.DataFrame:
    """``{annotator: {item: label}}`` as one row per rating."""
    if not isinstance(doc, dict) or not doc:
        raise InputError(f"{where}: an alt-test file is an object {{annotator_id: {{item_id: label}}}}")
    rows = []
    for rater, labels in doc.items():
        if not isinstance(labels, dict):
            raise InputError(f"{where}, annotator {rater!r}: expected an object {{item_id: label}}, got {type(labels).__name__}")
        for item, value in labels.items():
            rows.append({"item_id": str(item), "rater_id": str(rater), "rating": _label(value, f"{where}, annotator {rater!r}, item {item!r}")})
    return _frame(rows, where)


def judgebench_long(doc: Any, where: str, metric: str | None = None) -> tuple[pd.DataFrame, RatingMap | None, str]:
    """One metric of a JUDGE-BENCH file as one row per rating, the rating map its header declares, and the metric."""
    if not is_judgebench(doc):
        raise InputError(f"{where}: a JUDGE-BENCH file needs an 'annotations' list (the metrics) and an 'instances' list")
    declared: dict[str, dict[str, Any]] = {}
    for k, entry in enumerate(doc["annotations"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("metric"), str):
            raise InputError(f"{where}, annotations[{k}]: each declared annotation needs a 'metric' name")
        declared[entry["metric"]] = entry
    if not declared:
        raise InputError(f"{where}: key 'annotations' declares no metric")
    if metric is None:
        metric = next(iter(declared))
        if len(declared) > 1:
            warn(f"{where}: {len(declared)} metrics ({', '.join(declared)}); reading {metric!r} (choose one with --rating-col METRIC)")
    elif metric not in declared:
        raise InputError(f"{where}: no metric {metric!r} (the file declares {', '.join(declared)})")
    rows = []
    for k, instance in enumerate(doc["instances"]):
        here = f"{where}, instances[{k}]"
        if not isinstance(instance, dict) or "id" not in instance:
            raise InputError(f"{here}: each instance needs an 'id'")
        item = instance["id"]
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise InputError(f"{here}: 'id' must be a string or an integer, got {shown(item)}")
        here = f"{where}, item {str(item)!r}"
        notes = instance.get("annotations")
        if not isinstance(notes, dict):
            raise InputError(f"{here}: key 'annotations' must be an object {{metric: {{individual_human_scores: [...]}}}}")
        if metric not in notes:
            continue
        scores = notes[metric].get("individual_human_scores") if isinstance(notes[metric], dict) else None
        if not isinstance(scores, list):
            raise InputError(f"{here}, metric {metric!r}: key 'individual_human_scores' must be a list")
        fields = {"instance": json.dumps(instance["instance"]) if isinstance(instance.get("instance"), (dict, list)) else instance.get("instance")}
        for position, value in enumerate(scores, start=1):
            rows.append({"item_id": str(item), "rater_id": f"h{position}", "rating": _label(value, f"{here}, score {position}"), **fields})
    return _frame(rows, where), _judgebench_map(declared[metric], where), metric


def _judgebench_map(entry: Mapping[str, Any], where: str) -> RatingMap | None:
    """The rating map a metric's declaration implies: numeric on [worst, best], or its labels_list in order."""
    worst, best = entry.get("worst"), entry.get("best")
    if isinstance(worst, (int, float)) and isinstance(best, (int, float)) and not isinstance(worst, bool) and worst != best:
        return RatingMap(numeric=True, name="numeric", scale=(min(worst, best), max(worst, best)))
    labels = entry.get("labels_list")
    if isinstance(labels, list) and labels:
        return infer_map([str(v) for v in labels], where, ordered=True)
    return None


def infer_map(labels: list[Any], where: str, *, ordered: bool = False) -> RatingMap:
    """A rating map for labels of a file read without one: numeric, the DICES map, or nominal codes (warned)."""
    distinct = list(dict.fromkeys(str(v).strip() for v in labels if v is not None and str(v).strip()))
    try:
        [float(v) for v in distinct]
        return RatingMap.numeric_scale()
    except ValueError:
        pass
    dices = RatingMap.dices()
    if {v.casefold() for v in distinct} <= {k.casefold() for k in dices.mapping}:
        return dices
    names = distinct if ordered else sorted(distinct)
    warn(f"{where}: labels read as nominal codes {', '.join(f'{n}={k}' for k, n in enumerate(names))} (give --rating-map to say otherwise)")
    return RatingMap({n: float(k) for k, n in enumerate(names)}, name="nominal", level="nominal")


def lewidi_long(doc: Any, where: str, meta: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """A LeWiDi file as one row per rating, with the rater attribute columns it yields."""
    if not is_lewidi(doc):
        raise InputError(f"{where}: a LeWiDi file is an object of items, each with 'annotators' and 'annotations'")
    rows = []
    skipped = 0
    for item, entry in doc.items():
        here = f"{where}, item {item!r}"
        notes = entry["annotations"]
        text = entry.get("text")
        fields = {
            "text": json.dumps(text) if isinstance(text, (dict, list)) else text,
            "lang": entry.get("lang"),
            "annotation task": entry.get("annotation task"),
        }
        if notes in ("", None) or notes == {}:
            skipped += 1
            continue
        if isinstance(notes, dict):  # 2025: {annotator: label}
            pairs = [(str(a), v) for a, v in notes.items()]
            groups: list[Any] = [None] * len(pairs)
        elif isinstance(notes, str):  # 2023: "0,1,0" beside "Ann1,Ann2,Ann3"
            raters = entry.get("annotators")
            if not isinstance(raters, str):
                raise InputError(f"{here}: key 'annotators' must be comma-separated annotator ids")
            ids, labels = [a.strip() for a in raters.split(",")], [v.strip() for v in notes.split(",")]
            if len(ids) != len(labels):
                raise InputError(f"{here}: {len(ids)} annotators but {len(labels)} annotations")
            pairs = list(zip(ids, labels, strict=True))
            groups = _groups(entry.get("other_info"), len(pairs))
        else:
            raise InputError(f"{here}: key 'annotations' must be comma-separated labels or an object {{annotator: label}}")
        for (rater, value), group in zip(pairs, groups, strict=True):
            row = {"item_id": str(item), "rater_id": rater, "rating": _label(value, f"{here}, annotator {rater!r}"), **fields}
            if group is not None:
                row["group"] = group
            rows.append(row)
    if skipped:
        warn(f"{where}: {skipped} item(s) without annotations (a test split?) left out")
    frame = _frame(rows, where)
    attrs: list[str] = []
    if "group" in frame.columns:
        varying = frame.groupby("rater_id")["group"].nunique(dropna=False)
        if (varying > 1).any():
            warn(f"{where}: annotator {varying[varying > 1].index[0]!r} is in different 'annotators group's; no group attribute")
            frame = frame.drop(columns="group")
        else:
            attrs.append("group")
    if meta:
        table = _meta_table(meta, frame["rater_id"].unique(), where)
        frame = frame.join(table, on="rater_id")
        attrs.extend(table.columns)
    return frame, attrs


def _groups(info: Any, n: int) -> list[Any]:
    """2023's per-annotation ``annotators group`` names (``group1`` -> its description), or Nones."""
    if not isinstance(info, dict) or not isinstance(info.get("annotators group"), str):
        return [None] * n
    names = [g.strip() for g in info["annotators group"].split(",")]
    if len(names) != n:
        return [None] * n
    return [info.get(g, g) if isinstance(info.get(g, g), str) else g for g in names]


def _meta_table(meta: Mapping[str, Any], raters: Any, where: str) -> pd.DataFrame:
    """Annotator metadata rows for ``raters``; ids match as given or without the ``Ann`` prefix (as the 2025 files mix)."""
    records = {}
    for rater in raters:
        found = meta.get(rater, meta.get(rater[3:] if rater.startswith("Ann") else f"Ann{rater}"))
        if found is None:
            continue
        if not isinstance(found, dict):
            raise InputError(f"{where}: annotator metadata for {rater!r} must be an object of attributes")
        records[rater] = {k: v for k, v in found.items() if k != "Annotator_id"}
    if not records:
        warn(f"{where}: the annotator metadata names none of the file's annotators; no rater attributes")
        return pd.DataFrame(index=pd.Index([], name="rater_id"))
    return pd.DataFrame.from_dict(records, orient="index").astype(object)


def lewidi_meta_path(path: Path) -> Path | None:
    """The ``<Dataset>_annotators_meta.json`` beside a LeWiDi file ``<Dataset>_<split>.json``, if there is one."""
    stem = path.name[: -len(".json")] if path.name.lower().endswith(".json") else path.stem
    dataset = stem.rsplit("_", 1)[0]
    candidate = path.with_name(f"{dataset}_annotators_meta.json")
    return candidate if candidate.is_file() and candidate != path else None


def alttest_machine_frame(doc: Any, where: str) -> pd.DataFrame:
    """An alt-test LLM file as a machine-rater table: item_id, rater (each top-level key), label."""
    long = alttest_long(doc, where)
    return long.rename(columns={"rater_id": "rater", "rating": "label"})
