"""Reading tabular files (CSV, CSV.gz, Parquet, JSONL) with one-line errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annalign.errors import InputError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".pq", ".jsonl", ".jsonl.gz", ".ndjson", ".json")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".tsv"):
        return "tsv"
    return "csv"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table with every column as text (ids stay exact); raise InputError on bad files.

    Returns a frame with a ``_row`` column: the 1-based line number in the file (CSV: the header
    is line 1) or record number (Parquet/JSONL), for error messages.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a table file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    kind = _kind(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype({c: object for c in frame.columns})
            offset = 1
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
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); re-save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: cannot parse as {kind.upper()}: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:
        raise InputError(f"{path}: cannot read as {kind.upper()}: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if frame.empty:
        raise InputError(f"{path}: the file has a header but no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    frame["_row"] = frame.index + offset
    return frame


def ids_as_text(series: pd.Series) -> pd.Series:
    """Identifiers as clean strings: 7, 7.0 and "7" all become "7"; blanks stay missing."""

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = str(value).strip()
        return text if text else None

    return series.map(one)


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    """Raise a one-line error naming the first missing column and the columns that exist."""
    for column in columns:
        if column not in frame.columns:
            present = ", ".join(c for c in frame.columns if c != "_row")
            raise InputError(f"{where}: missing column {column!r} (columns are: {present})")
