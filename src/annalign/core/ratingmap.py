"""Rating maps: turn answer labels (Yes/Unsure/No, Likert digits) into numbers."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from annalign.core.levels import check_level
from annalign.errors import InputError, shown

#: Labels that mean "this rater gave no rating" (left out, never filled in).
MISSING_WORDS = {"nan", "na", "missing", "none", "null"}


def _norm(label: object) -> str:
    return str(label).strip().casefold()


def _lookup_labels(series: pd.Series, lookup: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(number, whether the label is in ``lookup``) per entry, labels compared after ``_norm``; a missing entry is NaN, known.

    Texts only (a column read from a file): each distinct label is normalised once rather than
    each rating (tens of thousands of ratings, a handful of labels). Other columns take ``_norm``
    entry by entry (1 and 1.0 are equal keys but different labels).
    """
    if pd.api.types.infer_dtype(series, skipna=True) == "string":
        codes, uniques = pd.factorize(series)  # a missing entry gets code -1
        normed = [_norm(u) for u in uniques]
        per_label = np.array([lookup.get(n, np.nan) for n in normed] + [np.nan], dtype=float)
        known = np.array([n in lookup for n in normed] + [True], dtype=bool)
        return per_label[codes], known[codes]  # code -1 picks the appended missing entry
    normed = series.map(_norm)
    return normed.map(lookup).to_numpy(dtype=float, copy=True), normed.isin(lookup.keys()).to_numpy()


@dataclass(frozen=True)
class RatingMap:
    """A mapping from labels to numbers; ``numeric`` maps take the numbers as they are.

    Labels match case-insensitively after stripping blanks. A label mapped to NaN marks an
    answer that is left out (for example a refusal), never a silent zero.
    """

    mapping: Mapping[str, float] = field(default_factory=dict)
    numeric: bool = False
    name: str = "custom"
    #: The declared scale (LO, HI): every rating must lie in it; None means no check beyond finiteness.
    scale: tuple[float, float] | None = None
    #: The declared level of measurement (nominal, ordinal, interval); None: inferred (annalign.core.levels)
    level: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", check_level(self.level, f"rating map {self.name}"))
        if self.scale is not None:
            lo, hi = (float(v) for v in self.scale)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InputError(f"a rating scale needs finite LO < HI, got {lo:g},{hi:g}")
            object.__setattr__(self, "scale", (lo, hi))
            outside = [k for k, v in self.mapping.items() if not math.isnan(v) and not lo <= v <= hi]
            if outside:
                label = outside[0]
                raise InputError(
                    f"rating map {self.name}: label {label!r} = {self.mapping[label]:g} lies outside the declared scale {lo:g},{hi:g}"
                )

    def with_scale(self, scale: tuple[float, float] | list[float] | None) -> RatingMap:
        """The same map with a declared scale (ratings outside it are refused); None keeps the map's own."""
        if scale is None:
            return self
        return RatingMap(self.mapping, self.numeric, self.name, (float(scale[0]), float(scale[1])), self.level)

    def with_level(self, level: str | None) -> RatingMap:
        """The same map with a declared level of measurement; None or "auto" keeps the map's own."""
        level = check_level(level)
        if level is None:
            return self
        return RatingMap(self.mapping, self.numeric, self.name, self.scale, level)

    @classmethod
    def dices(cls) -> RatingMap:
        """The DICES default: Yes (unsafe) = 1, Unsure = 0.5, No = 0."""
        return cls({"Yes": 1.0, "Unsure": 0.5, "No": 0.0}, name="dices")

    @classmethod
    def numeric_scale(cls) -> RatingMap:
        """Ratings are numbers already (for example a 1-5 Likert scale)."""
        return cls({}, numeric=True, name="numeric")

    @classmethod
    def parse(cls, spec: str | Mapping[str, float] | RatingMap | None) -> RatingMap:
        """Read a map from ``"Yes=1,No=0"``, ``"dices"``, ``"numeric"``, ``"nominal:A,B,C"`` (codes 0, 1, 2 in that
        order, level nominal; ``"ordinal:low,mid,high"`` likewise), a JSON/TOML file (optional key ``level``), a two-column CSV/TSV file
        (label, value; thousands of free-text labels) or a dict."""
        if spec is None:
            return cls.dices()
        if isinstance(spec, RatingMap):
            return spec
        if isinstance(spec, Mapping):
            return cls._from_mapping(spec, "the rating map")
        text = str(spec).strip()
        if text.casefold() == "dices":
            return cls.dices()
        if text.casefold() == "numeric":
            return cls.numeric_scale()
        kind, _, labels = text.partition(":")
        if kind.strip().casefold() in ("nominal", "ordinal") and labels.strip() and "=" not in labels:
            names = [part.strip() for part in labels.split(",") if part.strip()]
            if len({_norm(n) for n in names}) != len(names):
                raise InputError(f"rating map {text!r}: a label is listed twice")
            codes = {label: float(code) for code, label in enumerate(names)}
            return cls(codes, name=kind.strip().casefold(), level=kind.strip().casefold())
        if text.casefold().startswith("numeric:"):
            return cls(numeric=True, name="numeric", scale=parse_scale(text.split(":", 1)[1], f"rating map {text!r}"))
        path = Path(text)
        if path.suffix.lower() in {".csv", ".tsv"}:
            return cls._from_table(path)
        if path.suffix.lower() in {".json", ".toml"}:
            if not path.is_file():
                raise InputError(f"rating map file not found: {path}")
            try:
                raw = json.loads(path.read_text("utf-8")) if path.suffix.lower() == ".json" else tomllib.loads(path.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: not a valid rating map file ({exc})") from None
            scale = None
            level = raw.pop("level", None) if isinstance(raw, dict) and not isinstance(raw.get("level"), (int, float)) else None
            if isinstance(raw, dict) and "rating_map" in raw:
                scale = raw.get("scale")
                raw = raw["rating_map"]
            elif isinstance(raw, dict) and "scale" in raw:
                scale = raw.pop("scale")
            if scale is not None:
                scale = parse_scale(scale, f"{path}, key 'scale'")
            level = check_level(level, f"{path}, key 'level'")
            if isinstance(raw, str) and raw.strip().casefold() == "numeric":
                return cls(numeric=True, name="numeric", scale=scale, level=level)
            if not isinstance(raw, dict):
                raise InputError(f"{path}: a rating map must be a table of label = number")
            return cls._from_mapping(raw, str(path)).with_scale(scale).with_level(level)
        pairs: dict[str, float] = {}
        for part in text.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise InputError(f"rating map entry {part.strip()!r} is not LABEL=NUMBER (in {text!r})")
            label, value = part.split("=", 1)
            pairs[label.strip()] = value.strip()  # type: ignore[assignment]
        return cls._from_mapping(pairs, repr(text))

    @classmethod
    def _from_table(cls, path: Path) -> RatingMap:
        """A map from a two-column CSV/TSV file (label, value; a header row is optional), of any size."""
        if not path.is_file():
            raise InputError(f"rating map file not found: {path}")
        try:
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", header=None, dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"{path}: not a valid rating map table ({str(exc).splitlines()[0]})") from None
        if frame.shape[1] != 2:
            raise InputError(f"{path}: a rating map table needs exactly two columns (label, value), found {frame.shape[1]}")
        first = str(frame.iat[0, 1]).strip() if len(frame) else ""
        header = bool(len(frame)) and _norm(first) not in MISSING_WORDS and not _is_number(first)
        rows = frame.iloc[1:] if header else frame
        out: dict[str, object] = {}
        for offset, (label, value) in enumerate(rows.itertuples(index=False), start=2 if header else 1):
            key = str(label).strip()
            if not key:
                raise InputError(f"{path}, row {offset}: empty label")
            if key in out and out[key] != value:
                raise InputError(f"{path}, row {offset}: label {key!r} is mapped twice ({out[key]} and {value})")
            if _norm(value) not in MISSING_WORDS and not _is_number(value):
                raise InputError(f"{path}, row {offset}: value {shown(value)} for label {key!r} is not a number")
            out[key] = value
        return cls._from_mapping(out, str(path))

    @classmethod
    def _from_mapping(cls, raw: Mapping[str, object], where: str) -> RatingMap:
        out: dict[str, float] = {}
        for label, value in raw.items():
            if _norm(value) in MISSING_WORDS:
                number = math.nan
            else:
                try:
                    if isinstance(value, bool):
                        raise TypeError
                    number = float(value)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    raise InputError(f"rating map {where}: value {shown(value)} for label {label!r} is not a number") from None
                if not math.isfinite(number):
                    raise InputError(f"rating map {where}: value {shown(value)} for label {label!r} is not a finite number")
            out[str(label).strip()] = number
        if not out:
            raise InputError(f"rating map {where} is empty")
        return cls(out, name="custom")

    @property
    def categories(self) -> tuple[float, ...]:
        """The distinct finite values of a label map (empty for numeric maps)."""
        return tuple(sorted({v for v in self.mapping.values() if not math.isnan(v)}))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "numeric": self.numeric, "mapping": dict(self.mapping)}
        if self.scale is not None:
            out["scale"] = list(self.scale)
        if self.level is not None:
            out["level"] = self.level
        return out

    def apply(
        self,
        labels: pd.Series | Iterable[object],
        *,
        where: str,
        rows: Iterable[int] | None = None,
        option: str = "--rating-map",
    ) -> np.ndarray:
        """Map labels to float64; blanks become NaN; an unknown label, a non-finite or an out-of-scale number raises.

        ``option`` is the command-line option the hint for an unknown label names.
        """
        series = labels if isinstance(labels, pd.Series) else pd.Series(list(labels), dtype=object)
        blank = series.isna() | (series.astype(str).str.strip() == "")
        if self.numeric:
            text = series.map(lambda v: v if isinstance(v, str) else shown(v)).str.strip()
            missing_word = text.str.casefold().isin(MISSING_WORDS)
            boolean = series.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
            with np.errstate(over="ignore"):
                values = pd.to_numeric(text.where(~(blank | missing_word)), errors="coerce").to_numpy(dtype=float, copy=True)
            values[boolean] = np.nan
            bad = np.isnan(values) & ~(blank | missing_word).to_numpy()
            if bad.any():
                self._raise_unknown(series, bad, where, rows, "is not a number (the rating map is numeric)")
            infinite = np.isinf(values)
            if infinite.any():
                self._raise_unknown(series, infinite, where, rows, "is not a finite number (infinite or too large for a float)", "value")
            self.check_scale(values, series, where=where, rows=rows)
            return values
        lookup = {_norm(k): v for k, v in self.mapping.items()}
        values, known = _lookup_labels(series, lookup)
        unknown = ~known & ~blank.to_numpy()
        # Numbers given as text are accepted when the map's values are those numbers (e.g. "1.0").
        if unknown.any():
            self._raise_unknown(series, unknown, where, rows, f"is not in the rating map ({', '.join(self.mapping)}); map it with {option}")
        values[blank.to_numpy()] = np.nan
        return values

    def check_scale(self, values: np.ndarray, series: pd.Series | None = None, *, where: str, rows: Iterable[int] | None = None) -> None:
        """Raise when a value lies outside the declared scale (no check without one)."""
        if self.scale is None:
            return
        lo, hi = self.scale
        outside = np.isfinite(values) & ((values < lo) | (values > hi))
        if outside.any():
            shown_series = series if series is not None else pd.Series(values)
            why = f"lies outside the declared scale {lo:g},{hi:g}" + (" (negative)" if lo >= 0 and (values[outside] < 0).any() else "")
            self._raise_unknown(shown_series, outside, where, rows, why, "value")

    @staticmethod
    def _raise_unknown(
        series: pd.Series, bad: np.ndarray, where: str, rows: Iterable[int] | None, why: str, what: str = "label"
    ) -> None:
        position = int(np.flatnonzero(bad)[0])
        row_numbers = list(rows) if rows is not None else None
        row = row_numbers[position] if row_numbers is not None else position + 2
        raise InputError(f"{where}, row {row}: {what} {shown(series.iloc[position])} {why} ({int(bad.sum())} such rows)")


def _is_number(text: object) -> bool:
    """Whether ``text`` reads as a finite number."""
    try:
        return math.isfinite(float(str(text).strip()))
    except ValueError:
        return False


def parse_scale(spec: object, where: str) -> tuple[float, float]:
    """``"1,5"``, ``[1, 5]`` or ``(1, 5)`` -> (1.0, 5.0); a one-line InputError naming ``where`` otherwise."""
    parts = spec.split(",") if isinstance(spec, str) else spec
    try:
        if isinstance(parts, (str, bytes)) or len(parts) != 2 or any(isinstance(p, bool) for p in parts):  # type: ignore[arg-type]
            raise ValueError
        lo, hi = (float(p) for p in parts)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"{where}: a scale must be LO,HI (two numbers, for example 1,5), got {shown(spec)}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(f"{where}: a scale needs finite LO < HI, got {shown(spec)}")
    return lo, hi
