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

from annalign.errors import InputError

#: Labels that mean "this rater gave no rating" (left out, never filled in).
MISSING_WORDS = {"nan", "na", "missing", "none", "null"}


def _norm(label: object) -> str:
    return str(label).strip().casefold()


@dataclass(frozen=True)
class RatingMap:
    """A mapping from labels to numbers; ``numeric`` maps take the numbers as they are.

    Labels match case-insensitively after stripping blanks. A label mapped to NaN marks an
    answer that is left out (for example a refusal), never a silent zero.
    """

    mapping: Mapping[str, float] = field(default_factory=dict)
    numeric: bool = False
    name: str = "custom"

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
        """Read a map from ``"Yes=1,No=0"``, ``"dices"``, ``"numeric"``, a JSON/TOML file or a dict."""
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
        path = Path(text)
        if path.suffix.lower() in {".json", ".toml"}:
            if not path.is_file():
                raise InputError(f"rating map file not found: {path}")
            try:
                raw = json.loads(path.read_text("utf-8")) if path.suffix.lower() == ".json" else tomllib.loads(path.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: not a valid rating map file ({exc})") from None
            if isinstance(raw, dict) and "rating_map" in raw:
                raw = raw["rating_map"]
            if not isinstance(raw, dict):
                raise InputError(f"{path}: a rating map must be a table of label = number")
            return cls._from_mapping(raw, str(path))
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
    def _from_mapping(cls, raw: Mapping[str, object], where: str) -> RatingMap:
        out: dict[str, float] = {}
        for label, value in raw.items():
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                if _norm(value) in MISSING_WORDS:
                    number = math.nan
                else:
                    raise InputError(f"rating map {where}: value {value!r} for label {label!r} is not a number") from None
            out[str(label).strip()] = number
        if not out:
            raise InputError(f"rating map {where} is empty")
        return cls(out, name="custom")

    @property
    def categories(self) -> tuple[float, ...]:
        """The distinct finite values of a label map (empty for numeric maps)."""
        return tuple(sorted({v for v in self.mapping.values() if not math.isnan(v)}))

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "numeric": self.numeric, "mapping": dict(self.mapping)}

    def apply(self, labels: pd.Series | Iterable[object], *, where: str, rows: Iterable[int] | None = None) -> np.ndarray:
        """Map labels to float64; blanks become NaN; an unknown label raises, naming where it was."""
        series = labels if isinstance(labels, pd.Series) else pd.Series(list(labels), dtype=object)
        blank = series.isna() | (series.astype(str).str.strip() == "")
        if self.numeric:
            text = series.astype(str).str.strip()
            missing_word = text.str.casefold().isin(MISSING_WORDS)
            values = pd.to_numeric(text.where(~(blank | missing_word)), errors="coerce").to_numpy(dtype=float, copy=True)
            bad = np.isnan(values) & ~(blank | missing_word).to_numpy()
            if bad.any():
                self._raise_unknown(series, bad, where, rows, "is not a number (the rating map is numeric)")
            return values
        lookup = {_norm(k): v for k, v in self.mapping.items()}
        normed = series.map(_norm)
        values = normed.map(lookup).to_numpy(dtype=float, copy=True)
        unknown = (~normed.isin(lookup.keys())).to_numpy() & ~blank.to_numpy()
        # Numbers given as text are accepted when the map's values are those numbers (e.g. "1.0").
        if unknown.any():
            self._raise_unknown(series, unknown, where, rows, f"is not in the rating map ({', '.join(self.mapping)}); map it with --rating-map")
        values[blank.to_numpy()] = np.nan
        return values

    @staticmethod
    def _raise_unknown(series: pd.Series, bad: np.ndarray, where: str, rows: Iterable[int] | None, why: str) -> None:
        position = int(np.flatnonzero(bad)[0])
        row_numbers = list(rows) if rows is not None else None
        row = row_numbers[position] if row_numbers is not None else position + 2
        raise InputError(f"{where}, row {row}: label {series.iloc[position]!r} {why} ({int(bad.sum())} such rows)")
