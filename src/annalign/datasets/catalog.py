"""What the package ships: the bundled data sets, their sizes and files, and the column-map type (no pandas here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

BUNDLED: dict[str, str] = {
    "dices350": "DICES-350: 350 adversarial conversations x 123 demographically diverse raters (Q_overall)",
    "dices990": "DICES-990: 990 conversations, per-item Yes/No/Unsure vote counts only (no rater identities)",
}

#: Items, raters (None: vote counts only) and ratings of each bundled set, so that listing them
#: needs no pandas and no decompression; tests/test_datasets.py checks them against the files.
SIZES: dict[str, dict[str, int | None]] = {
    "dices350": {"items": 350, "raters": 123, "ratings": 43050},
    "dices990": {"items": 990, "raters": None, "ratings": 72103},
}

#: Item-level columns of the DICES files that are text fields rather than ratings.
DICES_ITEM_FIELDS = ("context", "response", "safety_gold", "degree_of_harm", "harm_type")


@dataclass(frozen=True)
class ColumnMap:
    """Which columns of a long-form table hold the item id, rater id, rating and attributes.

    ``rater_attrs``/``item_fields`` of None means: detect them (columns constant within each
    rater, or within each item).
    """

    item: str = "item_id"
    rater: str = "rater_id"
    rating: str = "rating"
    rater_attrs: list[str] | None = None
    item_fields: list[str] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def data_path(*parts: str) -> Path:
    """Path of a file shipped inside the package."""
    return Path(str(resources.files("annalign").joinpath("datasets", *parts)))


def list_bundled() -> list[dict[str, object]]:
    """Bundled data sets with their sizes, for ``annalign datasets`` (recorded in SIZES; a test reloads the data to check them)."""
    return [{"name": name, **SIZES[name], "description": description} for name, description in BUNDLED.items()]
