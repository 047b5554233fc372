"""Loaders: bundled DICES sets by name, the official DICES CSV files, and any long-form table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.ratingmap import RatingMap
from annalign.datasets import peer_formats as peer
from annalign.datasets.catalog import BUNDLED, ColumnMap, data_path
from annalign.datasets.peer_formats import PEER_FORMATS
from annalign.datasets.tables import TABLE_SUFFIXES, ids_as_text, read_table, require_columns
from annalign.errors import InputError, shown, warn


def load_dataset(
    name_or_path: str | Path,
    *,
    rating_map: RatingMap | str | None = None,
    columns: ColumnMap | None = None,
    fmt: str = "auto",
) -> Annotations:
    """Load a bundled set by name or a file (official DICES CSV or any long-form table)."""
    rmap = RatingMap.parse(rating_map)
    key = str(name_or_path)
    if key in BUNDLED:
        return _load_bundled(key, rmap)
    path = Path(key)
    if not path.exists():
        known = ", ".join(BUNDLED)
        raise InputError(f"data set {key!r} is neither a bundled name ({known}) nor an existing file")
    if not path.name.lower().endswith(TABLE_SUFFIXES):
        raise InputError(f"{path}: unknown file type; use CSV, CSV.gz, TSV, Parquet, JSONL or JSON")
    if fmt in PEER_FORMATS or (fmt == "auto" and path.name.lower().endswith(".json") and _starts_with_object(path)):
        loaded = _load_peer(path, fmt, rmap, columns)
        if loaded is not None:
            return loaded
    frame = read_table(path)
    if fmt == "auto":
        fmt = "dices" if {"rater_id", "item_id", "Q_overall"} <= set(frame.columns) and columns is None else "long"
    if fmt == "dices":
        return from_dices_frame(frame, rmap, name=path.name, where=str(path))
    if fmt == "votes":
        return from_votes_frame(frame, rmap, name=path.name, where=str(path))
    if fmt == "wide":
        return from_wide_frame(frame, columns, rmap, name=path.name, where=str(path))
    if fmt != "long":
        raise InputError(f"unknown data set format {fmt!r}: use auto, dices, votes, wide, long, {', '.join(PEER_FORMATS)}")
    return from_long_frame(frame, columns or ColumnMap(), rmap, name=path.name, where=str(path))


def _starts_with_object(path: Path) -> bool:
    """Whether a ``.json`` file holds one JSON object (a peer layout), not an array of rows."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _load_peer(path: Path, fmt: str, rmap: RatingMap, columns: ColumnMap | None) -> Annotations | None:
    """A peer JSON layout (``peer_formats``) read through the long form; None when ``auto`` finds a JSON Lines table."""
    where = str(path)
    try:
        doc = peer.read_json_document(path)
    except InputError:
        if fmt == "auto":  # several objects, one a line: JSON Lines in a .json file, read as a table
            return None
        raise
    if fmt == "auto":
        found = peer.detect(doc)
        if found is None:
            if isinstance(doc, dict) and all(isinstance(v, (str, int, float, bool, type(None))) for v in doc.values()):
                return None  # one flat object: a one-row JSON Lines table
            raise InputError(f"{where}: a JSON object of no known layout (tried {', '.join(PEER_FORMATS)}); name one with --format")
        fmt = found
    declared: RatingMap | None = None
    rater_attrs: list[str] = []
    item_fields = ["text", "lang", "annotation task"]
    if fmt == "alttest":
        frame = peer.alttest_long(doc, where)
        item_fields = []
    elif fmt == "judgebench":
        metric = columns.rating if columns is not None and columns.rating != ColumnMap().rating else None
        frame, declared, metric = peer.judgebench_long(doc, where, metric)
        item_fields = ["instance"]
    else:
        meta_path = peer.lewidi_meta_path(path)
        meta = peer.read_json_document(meta_path) if meta_path is not None else None
        if meta is not None and not isinstance(meta, dict):
            raise InputError(f"{meta_path}: annotator metadata must be an object {{annotator_id: {{attribute: value}}}}")
        frame, rater_attrs = peer.lewidi_long(doc, where, meta)
    rmap = _peer_map(rmap, frame["rating"], declared, where)
    cmap = ColumnMap(item="item_id", rater="rater_id", rating="rating", rater_attrs=rater_attrs, item_fields=item_fields)
    return from_long_frame(frame, cmap, rmap, name=path.name, where=where)


def _peer_map(rmap: RatingMap, ratings: pd.Series, declared: RatingMap | None, where: str) -> RatingMap:
    """The rating map for a peer file: the one given, unless it is the DICES default and the labels do not fit it.

    Then the file's declared map (JUDGE-BENCH's header) or one inferred from the labels (numbers: numeric;
    else nominal codes, warned) is used, keeping a declared scale and level.
    """
    if rmap.name != "dices":
        return rmap
    known = {k.casefold() for k in rmap.mapping}
    if all(str(v).strip().casefold() in known for v in ratings):
        return rmap
    chosen = declared or peer.infer_map(list(ratings), where)
    if rmap.scale is not None:
        chosen = chosen.with_scale(rmap.scale)
    return chosen.with_level(rmap.level)


def _load_bundled(name: str, rmap: RatingMap) -> Annotations:
    if name == "dices350":
        ratings = read_table(data_path("dices350", "ratings.csv.gz"))
        items = read_table(data_path("dices350", "items.csv"))
        data = from_dices_frame(ratings, rmap, name=name, where="dices350/ratings.csv.gz", items=items)
    else:
        data = from_votes_frame(read_table(data_path("dices990", "items_votes.csv.gz")), rmap, name=name, where="dices990/items_votes.csv.gz")
    object.__setattr__(data, "source", f"bundled:{name}")
    return data


def from_dices_frame(
    frame: pd.DataFrame, rmap: RatingMap, *, name: str, where: str, items: pd.DataFrame | None = None
) -> Annotations:
    """The official DICES layout: rater_* columns are rater attributes, item fields are kept per item."""
    require_columns(frame, ["item_id", "rater_id", "Q_overall"], where)
    rater_attrs = [c for c in frame.columns if c.startswith("rater_") and c != "rater_id"]
    per_rating = {"item_id", "rater_id", "Q_overall", "_row", *rater_attrs}
    candidates = [c for c in frame.columns if c not in per_rating]
    item_fields = _constant_within(frame, "item_id", candidates) if candidates else []
    cmap = ColumnMap(item="item_id", rater="rater_id", rating="Q_overall", rater_attrs=rater_attrs, item_fields=item_fields)
    data = from_long_frame(frame, cmap, rmap, name=name, where=where)
    if items is not None:
        items = items.drop(columns="_row").assign(item_id=lambda f: ids_as_text(f["item_id"])).set_index("item_id")
        joined = data.items.drop(columns=[c for c in data.items.columns if c in items.columns]).join(items, how="left")
        object.__setattr__(data, "items", joined)
    return data


def from_votes_frame(frame: pd.DataFrame, rmap: RatingMap, *, name: str, where: str) -> Annotations:
    """Per-item vote counts (DICES-990 layout): item-level data, no rater identities."""
    require_columns(frame, ["item_id", "n_yes", "n_no", "n_unsure"], where)
    if rmap.numeric:
        raise InputError(f"{where}: vote counts need a label rating map with Yes, No and Unsure, not a numeric one")
    lookup = {k.casefold(): v for k, v in rmap.mapping.items()}
    missing = [lab for lab in ("yes", "no", "unsure") if lab not in lookup]
    if missing:
        raise InputError(f"{where}: the rating map lacks the label(s) {', '.join(missing)} that the vote columns count")
    counts = {}
    for label in ("yes", "no", "unsure"):
        column = f"n_{label}"
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | ~np.isfinite(numbers) | (numbers < 0) | (numbers % 1 != 0)
        if bad.any():
            row = int(frame.loc[bad, "_row"].iloc[0])
            value = frame.loc[bad, column].iloc[0]
            raise InputError(f"{where}, row {row}: column {column} must be a non-negative whole count, got {shown(value)}")
        counts[label] = numbers.to_numpy(dtype=float)
    vote_sum = sum(counts[lab] * lookup[lab] for lab in counts)
    vote_count = sum(counts.values())
    ids = ids_as_text(frame["item_id"], where=where)
    if ids.duplicated().any():
        raise InputError(f"{where}: item_id {ids[ids.duplicated()].iloc[0]!r} appears twice")
    fields = [c for c in frame.columns if c not in {"item_id", "_row"}]
    items = frame[fields].assign(item_id=ids.to_numpy()).set_index("item_id")
    empty = np.zeros(0, dtype=np.int64)
    return Annotations(
        name=name,
        items=items,
        raters=pd.DataFrame(index=pd.Index([], name="rater_id", dtype=object)),
        item_index=empty,
        rater_index=empty.copy(),
        values=np.zeros(0),
        rating_map=rmap,
        vote_sum=np.asarray(vote_sum, dtype=float),
        vote_count=np.asarray(vote_count, dtype=float),
        source=where,
    )


def from_wide_frame(frame: pd.DataFrame, columns: ColumnMap | None, rmap: RatingMap, *, name: str, where: str) -> Annotations:
    """One row per item, an item id column and one column per rater (blank cell: no rating), read as long form."""
    item = columns.item if columns is not None else next((c for c in ("item_id", "id") if c in frame.columns), "item_id")
    require_columns(frame, [item], where)
    raters = [c for c in frame.columns if c not in {item, "_row"}]
    if not raters:
        raise InputError(f"{where}: a wide table needs one column per rater besides the item id column {item!r}")
    long = frame.melt(id_vars=[item, "_row"], value_vars=raters, var_name="rater_id", value_name="rating")
    long = long[long["rating"].notna() & (long["rating"].astype(str).str.strip() != "")]
    cmap = ColumnMap(item=item, rater="rater_id", rating="rating", rater_attrs=[], item_fields=[])
    return from_long_frame(long.reset_index(drop=True), cmap, rmap, name=name, where=where)


def _constant_within(frame: pd.DataFrame, key: str, columns: list[str]) -> list[str]:
    """Columns whose value never varies within one value of ``key``."""
    if not columns:
        return []
    nunique = frame.groupby(key, sort=False)[columns].nunique(dropna=False)
    return [c for c in columns if int(nunique[c].max()) <= 1]


def from_long_frame(frame: pd.DataFrame, cmap: ColumnMap, rmap: RatingMap, *, name: str, where: str) -> Annotations:
    """Build Annotations from one row per (item, rater, rating), checking every row."""
    require_columns(frame, [cmap.item, cmap.rater, cmap.rating], where)
    for column in (cmap.rater_attrs or []) + (cmap.item_fields or []):
        require_columns(frame, [column], where)
    frame = frame.copy()
    frame["_item"] = ids_as_text(frame[cmap.item], where=f"{where}, column {cmap.item!r}", what="item id")
    frame["_rater"] = ids_as_text(frame[cmap.rater], where=f"{where}, column {cmap.rater!r}", what="rater id")
    for key, column in (("_item", cmap.item), ("_rater", cmap.rater)):
        blank = frame[key].isna()
        if blank.any():
            raise InputError(f"{where}, row {int(frame.loc[blank, '_row'].iloc[0])}: column {column!r} is empty")
    values = rmap.apply(frame[cmap.rating], where=f"{where}, column {cmap.rating!r}", rows=frame["_row"].tolist())
    frame["_value"] = values

    # Duplicates: the same (item, rater) twice is an error if the ratings differ, else dropped.
    dup = frame.duplicated(["_item", "_rater"], keep=False)
    if dup.any():
        groups = frame.loc[dup].groupby(["_item", "_rater"], sort=False)["_value"]
        spread = groups.agg(lambda s: s.nunique(dropna=False))
        conflicting = spread[spread > 1]
        if len(conflicting):
            item, rater = conflicting.index[0]
            rows = frame.loc[(frame["_item"] == item) & (frame["_rater"] == rater), "_row"].tolist()
            raise InputError(
                f"{where}: item {item!r} rated twice by rater {rater!r} with different ratings (rows {', '.join(map(str, rows))}); "
                f"{len(conflicting)} such pairs"
            )
        n_dropped = int(frame.duplicated(["_item", "_rater"]).sum())
        warn(f"{where}: {n_dropped} exact duplicate (item, rater) rows dropped")
        frame = frame.drop_duplicates(["_item", "_rater"])

    used = {cmap.item, cmap.rater, cmap.rating, "_row", "_item", "_rater", "_value"}
    others = [c for c in frame.columns if c not in used]
    rater_attrs = cmap.rater_attrs if cmap.rater_attrs is not None else _constant_within(frame, "_rater", others)
    if cmap.rater_attrs is not None:
        varying = [c for c in rater_attrs if c not in _constant_within(frame, "_rater", rater_attrs)]
        if varying:
            raise InputError(f"{where}: rater attribute column {varying[0]!r} takes different values for the same rater")
    item_candidates = [c for c in others if c not in rater_attrs]
    item_fields = cmap.item_fields if cmap.item_fields is not None else _constant_within(frame, "_item", item_candidates)

    item_codes, item_ids = pd.factorize(frame["_item"], sort=False)
    rater_codes, rater_ids = pd.factorize(frame["_rater"], sort=False)
    items = frame.drop_duplicates("_item").set_index("_item")[item_fields].reindex(item_ids)
    items.index.name = "item_id"
    raters = frame.drop_duplicates("_rater").set_index("_rater")[rater_attrs].reindex(rater_ids)
    raters.index.name = "rater_id"

    observed = ~np.isnan(values := frame["_value"].to_numpy(dtype=float))
    if not observed.any():
        raise InputError(f"{where}: no usable ratings (every value in column {cmap.rating!r} is blank or missing)")
    order = np.lexsort((rater_codes[observed], item_codes[observed]))
    return Annotations(
        name=name,
        items=items,
        raters=raters,
        item_index=item_codes[observed][order].astype(np.int64),
        rater_index=rater_codes[observed][order].astype(np.int64),
        values=values[observed][order],
        rating_map=rmap,
        source=where,
    )
