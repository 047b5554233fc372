"""Run settings: defaults, a TOML config file, then command-line options (later wins)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from annalign.datasets import ColumnMap
from annalign.errors import InputError


@dataclass
class Settings:
    """Everything that decides what a run computes; written back into the output folder."""

    dataset: str = "dices350"
    format: str = "auto"
    item_col: str = "item_id"
    rater_col: str = "rater_id"
    rating_col: str = "rating"
    rater_attrs: list[str] | None = None
    item_fields: list[str] | None = None
    rating_map: str | dict[str, float] | None = None
    machine_rating_map: str | dict[str, float] | None = None
    raters: str = "all"
    min_ratings: int = 0
    ratings: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=lambda: ["dices-likert"])
    machine_scale: dict[str, list[float]] | list[float] | None = None
    method: str = "pearson"
    bootstrap: int = 1000
    seed: int = 0
    level: float = 0.95
    alt_epsilon: float = 0.1
    alt_scoring: str = "auto"
    alt_min_items: int = 30
    groupings: list[list[str]] = field(default_factory=lambda: [["rater_race", "rater_gender"]])
    min_group_size: int = 2
    power_items: list[int] = field(default_factory=lambda: [350, 1000, 3000, 10000])
    ledger: str | None = None
    concurrency: int = 8
    threads: int | None = None
    samples: int = 1
    temperature: float = 0.0
    limit: int | None = None

    def column_map(self) -> ColumnMap | None:
        """The long-form column mapping, or None when the defaults of the format apply."""
        if self.format == "dices":
            return None
        default = ColumnMap()
        custom = (self.item_col, self.rater_col, self.rating_col) != (default.item, default.rater, default.rating)
        if self.format == "auto" and not custom and self.rater_attrs is None and self.item_fields is None:
            return None
        return ColumnMap(self.item_col, self.rater_col, self.rating_col, self.rater_attrs, self.item_fields)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_settings(path: str | Path | None, overrides: dict[str, Any]) -> Settings:
    """Read a TOML config (flat keys or [dataset]/[analysis]/[annotate] tables) and apply overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"config file not found: {p}")
        try:
            raw = tomllib.loads(p.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: not valid TOML ({exc})") from None
        for key, value in raw.items():
            if isinstance(value, dict) and key in {"dataset", "analysis", "annotate", "groups", "models_section"}:
                value = dict(value)
                for alias in ("name", "path"):
                    if key == "dataset" and alias in value:
                        value["dataset"] = value.pop(alias)
                values.update(value)
            else:
                values[key] = value
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"{p}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    values.update({k: v for k, v in overrides.items() if v is not None and v != () and v != []})
    try:
        settings = Settings(**values)
    except TypeError as exc:
        raise InputError(f"bad settings: {exc}") from None
    if isinstance(settings.groupings, list) and settings.groupings and isinstance(settings.groupings[0], str):
        settings.groupings = [list(settings.groupings)]  # type: ignore[list-item]
    return settings
