"""Reading tabular files (CSV, CSV.gz, TSV, Parquet, JSON Lines, JSON arrays) with one-line errors that name the file."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from annalign.errors import InputError, warn

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".pq", ".jsonl", ".jsonl.gz", ".ndjson", ".json")
#: Suffixes cut from a file name to name the rater it holds, longest first ("gpt-4.1-mini.csv" -> "gpt-4.1-mini").
RATER_NAME_SUFFIXES = (".csv.gz", ".jsonl.gz", ".parquet", ".ndjson", ".jsonl", ".json", ".csv", ".tsv", ".pq")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".json"):
        return "json"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    if name.endswith(".tsv"):
        return "tsv"
    return "csv"


def table_stem(path: str | Path) -> str:
    """The file name without a known table suffix: only ``.csv``, ``.csv.gz``, ``.jsonl`` ... are cut, other dots stay."""
    name = Path(path).name
    for suffix in RATER_NAME_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _raw_text(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (for locating a decoding error)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _not_utf8(path: Path) -> InputError:
    """A one-line error with the true byte offset and line of the first invalid UTF-8 byte."""
    try:
        raw = _raw_text(path)
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        where = "of the decompressed text" if path.name.lower().endswith(".gz") else "of the file"
        return InputError(f"{path}, row {line}: not UTF-8 text (byte {exc.start} {where}: {exc.reason}); re-save it as UTF-8")
    except (OSError, EOFError, zlib.error):
        pass
    return InputError(f"{path}: not UTF-8 text; re-save it as UTF-8")


def _read_json_array(path: Path) -> tuple[pd.DataFrame, int]:
    """A ``.json`` file: an array of objects (one per row), or JSON Lines when it is not an array."""
    text = path.read_text("utf-8")
    if not text.lstrip().startswith("["):
        return pd.read_json(path, lines=True, dtype=False, encoding="utf-8"), 1
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise InputError(f"{path}: element {bad + 1} of the JSON array is not an object (one object per row is expected)")
    return pd.DataFrame.from_records(records), 1


def _flatten_nested(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested JSON/Parquet cells (lists, objects, arrays) as their JSON text, so every cell is one value."""
    for column in frame.columns:
        if frame[column].dtype == object:
            values = frame[column]
            nested = values.map(lambda v: isinstance(v, (list, dict, tuple, np.ndarray)))
            if nested.any():
                frame[column] = values.where(~nested, values[nested].map(lambda v: json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str)))
    return frame


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table with every column as text (ids stay exact); raise InputError on bad files.

    Returns a frame with a ``_row`` column: the 1-based line number in the file (CSV: the header
    is line 1) or record number (Parquet/JSON Lines/JSON array), for error messages.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a table file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    kind = _kind(path)
    label = {"jsonl": "JSON Lines"}.get(kind, kind.upper())
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype({c: object for c in frame.columns})
            offset = 1
        elif kind == "json":
            frame, offset = _read_json_array(path)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
            offset = 1
        else:
            frame = pd.read_csv(
                path,
                sep="\t" if kind == "tsv" else ",",
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
            )
            offset = 2
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: cannot parse as {label}: {str(exc).splitlines()[0]}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: the compressed file is truncated or corrupt ({str(exc).splitlines()[0] or type(exc).__name__})") from None
    except ValueError as exc:
        raise InputError(f"{path}: cannot read as {label}: {(str(exc).splitlines() or [type(exc).__name__])[0]}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if frame.empty:
        raise InputError(f"{path}: the file has a header but no rows")
    if kind in ("json", "jsonl", "parquet"):
        frame = _flatten_nested(frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    frame["_row"] = frame.index + offset
    return frame


#: Decimal text that names an integer or a number with trailing zeros: "1.0", "-3.500".
_DECIMAL = re.compile(r"^(-?(?:0|[1-9]\d*))\.(\d*?)0*$")


def _canonical_id(value: object) -> str | None:
    """One identifier in canonical text form (see ``ids_as_text``); None for a blank."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        value = repr(value)
    text = str(value).strip()
    if not text:
        return None
    match = _DECIMAL.match(text)
    if match:
        whole, fraction = match.groups()
        text = f"{whole}.{fraction}" if fraction else whole
        if text == "-0":
            text = "0"
    return text


def ids_as_text(series: pd.Series | Iterable[object], where: str | None = None, what: str = "item id") -> pd.Series:
    """Identifiers as canonical text, the same in every file format; blanks stay missing.

    The rule: an id is text. A number written with a decimal point and trailing zeros is the
    number without them, so ``7``, ``7.0``, ``"7"`` and ``"7.00"`` are one id, ``"7"`` (CSV reads
    ``7.0`` as the text "7.0", Parquet and JSON as a float, pandas as 7.0 when a column has blanks:
    the same item must not depend on the format). Leading zeros are kept: ``"01"`` and ``"1"``
    stay two ids, because zero-padded codes ("007", ZIP codes) are real identifiers, and no
    numeric format can produce a leading zero by accident. When two spellings of one id meet
    (``1`` and ``1.0``), or ids differ only by leading zeros (``01`` and ``1``), a warning says so
    (given ``where``).
    """
    series = series if isinstance(series, pd.Series) else pd.Series(list(series), dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    canon = np.array([_canonical_id(u) for u in uniques] + [None], dtype=object)
    out = pd.Series(canon[codes], index=series.index, dtype=object)
    if where is not None and len(uniques):
        _warn_spellings(uniques, canon[:-1], where, what)
    return out


def _warn_spellings(raw: Iterable[object], canon: np.ndarray, where: str, what: str) -> None:
    """Warn when two spellings of one id were merged, or ids differ only by leading zeros."""
    spellings: dict[str, set[str]] = {}
    for value, c in zip(raw, canon, strict=True):
        if c is not None:
            spellings.setdefault(c, set()).add(str(value).strip() if not isinstance(value, float) else repr(value))
    merged = [(c, sorted(s)) for c, s in spellings.items() if len(s) > 1]
    if merged:
        c, forms = merged[0]
        warn(
            f"{where}: {what} spellings {', '.join(repr(f) for f in forms)} are read as one id {c!r} "
            f"({len(merged)} such ids; a trailing .0 does not make a different id)"
        )
    padded: dict[str, list[str]] = {}
    for c in spellings:
        if re.fullmatch(r"-?\d+", c):
            padded.setdefault(str(int(c)), []).append(c)
    clashes = [sorted(v) for v in padded.values() if len(v) > 1]
    if clashes:
        warn(
            f"{where}: {what}s {', '.join(repr(v) for v in clashes[0])} differ only by leading zeros and are kept as "
            f"different ids ({len(clashes)} such groups); fix the file if they are the same"
        )


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    """Raise a one-line error naming the first missing column and the columns that exist."""
    for column in columns:
        if column not in frame.columns:
            present = [c for c in frame.columns if c != "_row"]
            hint = ""
            if len(present) == 1:
                sep = next((s for s, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")) if s in present[0]), None)
                if sep is not None:
                    name = {";": "semicolon", "\t": "tab", "|": "pipe"}[sep]
                    hint = (
                        f"; the header looks {name}-separated, but a .csv file is read as comma-separated: "
                        "save it with commas" + (" or name it .tsv" if sep == "\t" else "")
                    )
            raise InputError(f"{where}: missing column {column!r} (columns are: {', '.join(present)}){hint}")
