"""Run settings: defaults, a TOML config file, then command-line options (later wins).

Every value is checked here, once, whatever its source: a TOML file, a command-line option (text)
or a Python call (``Settings(...)``). Each rule (type, range or choices) has one wording, so the
same bad value gets the same one-line message everywhere; only the prefix naming the source
differs (``run.toml: setting 'bootstrap' ...``, ``--bootstrap ...``, ``setting 'bootstrap' ...``).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from annalign.datasets.catalog import ColumnMap
from annalign.errors import InputError, shown


class _Invalid(Exception):
    """A value broke its rule; ``expected`` says what the rule wants."""

    def __init__(self, expected: str, hint: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.hint = hint


#: (value, value came as command-line text) -> the checked value, or _Invalid.
Check = Callable[[Any, bool], Any]


def _type_name(value: object) -> str:
    """'a string', 'a whole number', 'a list' ... for messages about TOML and Python values."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return f"a {type(value).__name__}"


def _range_text(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is not None and hi is not None:
        if lo_open or hi_open:
            return f" strictly between {lo:g} and {hi:g}" if lo_open and hi_open else f" from {lo:g} to {hi:g}"
        return f" from {lo:g} to {hi:g}"
    if lo is not None:
        return f" of at least {lo:g}" if not lo_open else f" above {lo:g}"
    if hi is not None:
        return f" of at most {hi:g}"
    return ""


def integer(lo: int | None = None, hi: int | None = None, optional: bool = False) -> Check:
    """A whole number in [lo, hi] (booleans and decimals refused)."""
    expected = "a whole number" + _range_text(lo, hi)

    def check(value: Any, text: bool) -> Any:
        if value is None and optional:
            return None
        if text and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise _Invalid(expected) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(expected)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise _Invalid(expected)
        return value

    return check


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False) -> Check:
    """A finite number in the range (whole numbers accepted, booleans refused)."""
    expected = "a number" + _range_text(lo, hi, lo_open, hi_open)

    def check(value: Any, text: bool) -> Any:
        if text and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise _Invalid(expected) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Invalid(expected)
        value = float(value)
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise _Invalid(expected)
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise _Invalid(expected)
        return value

    return check


def choice(*options: str) -> Check:
    """One of the given words."""
    expected = "one of " + ", ".join(options)

    def check(value: Any, text: bool) -> Any:
        if not isinstance(value, str) or value not in options:
            close = difflib.get_close_matches(str(value), options, n=1)
            raise _Invalid(expected, f"did you mean {close[0]!r}?" if close else "")
        return value

    return check


def text(optional: bool = False) -> Check:
    """A non-empty string."""
    expected = "a non-empty string"

    def check(value: Any, text_: bool) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(expected)
        return value

    return check


def names(optional: bool = False, min_len: int = 0, what: str = "names") -> Check:
    """A list of strings (command-line text: comma-separated)."""
    expected = f"a list of {what}" + (f" (at least {min_len})" if min_len else "")

    def check(value: Any, text_: bool) -> Any:
        if value is None and optional:
            return None
        if text_ and isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, str):
            raise _Invalid(expected, f"write [{value!r}], not {value!r}".replace("'", '"'))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value) or len(value) < min_len:
            raise _Invalid(expected)
        return list(value)

    return check


#: the grouping of DICES's raters that RQ2 and RQ3 use unless told otherwise
DICES_GROUPING = ("rater_race", "rater_gender")


def groupings(value: Any, text_: bool) -> Any:
    """A list of groupings, each a list of rater attribute columns (a flat list is one grouping); None: the data set's default."""
    if value is None:
        return None
    expected = 'a list of groupings, each a list of rater attribute columns (for example [["rater_race", "rater_gender"]])'
    if text_ and isinstance(value, str):
        value = [[p.strip() for p in value.split(",") if p.strip()]]
    if isinstance(value, str):
        raise _Invalid(expected, f'write [["{value}"]], not "{value}"')
    if not isinstance(value, (list, tuple)):
        raise _Invalid(expected)
    value = list(value)
    if value and all(isinstance(v, str) for v in value):
        value = [value]
    out = []
    for by in value:
        if isinstance(by, str) or not isinstance(by, (list, tuple)) or not by or not all(isinstance(c, str) and c.strip() for c in by):
            raise _Invalid(expected)
        out.append(list(by))
    return out


def scale(optional: bool = True) -> Check:
    """A rating range LO,HI: two finite numbers, LO < HI."""
    expected = "a scale LO,HI (two numbers with LO < HI, for example 1,5)"

    def check(value: Any, text_: bool) -> Any:
        if value is None and optional:
            return None
        if text_ and isinstance(value, str):
            value = value.split(",")
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or len(value) != 2:
            raise _Invalid(expected)
        out = []
        for v in value:
            if isinstance(v, bool):
                raise _Invalid(expected)
            try:
                out.append(float(v.strip()) if text_ and isinstance(v, str) else float(v) if isinstance(v, (int, float)) else math.nan)
            except ValueError:
                raise _Invalid(expected) from None
        if not all(math.isfinite(v) for v in out) or not out[0] < out[1]:
            raise _Invalid(expected)
        return out

    return check


def machine_scale(value: Any, text_: bool) -> Any:
    """LO,HI for every machine rater, or {rater: LO,HI}."""
    if value is None:
        return None
    one = scale(optional=False)
    if isinstance(value, Mapping):
        return {str(k): one(v, text_) for k, v in value.items()}
    try:
        return one(value, text_)
    except _Invalid:
        raise _Invalid("a scale LO,HI or a table {rater = [LO, HI]}") from None


def rating_map(value: Any, text_: bool) -> Any:
    """A rating map name or spec (string) or a table of label = number."""
    expected = "a rating map: dices, numeric, numeric:LO,HI, 'A=1,B=0', a JSON/TOML file or a table of label = number"
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping) and value:
        for v in value.values():
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise _Invalid(expected)
        return dict(value)
    raise _Invalid(expected)


#: CLI option names that differ from "--" + the setting name with dashes.
OPTION_NAMES = {"format": "--format", "ratings": "--ratings", "models": "--model", "templates": "--template", "groupings": "--by",
                "rater_attrs": "--rater-attrs", "item_fields": "--item-fields", "analyses": "--analysis", "slice_by": "--slice-by"}


@dataclass
class Settings:
    """Everything that decides what a run computes; written back into the output folder.

    Constructing one validates every field (see the module docstring); a bad value raises a
    one-line InputError.
    """

    dataset: str = "dices350"
    format: str = "auto"
    item_col: str = "item_id"
    rater_col: str = "rater_id"
    rating_col: str = "rating"
    rater_attrs: list[str] | None = None
    item_fields: list[str] | None = None
    context_col: str = "context"
    response_col: str = "response"
    rating_map: str | dict[str, float] | None = None
    scale: list[float] | None = None
    #: the task's level of measurement (nominal, ordinal, interval); auto: declared in the rating map or inferred
    measurement: str = "auto"
    machine_rating_map: str | dict[str, float] | None = None
    parse: str | None = None
    raters: str = "all"
    min_ratings: int = 0
    ratings: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=lambda: ["dices-likert"])
    machine_scale: dict[str, list[float]] | list[float] | None = None
    #: RQ1's correlation; auto: the level's (Spearman for ordinal tasks, else Pearson)
    method: str = "auto"
    bootstrap: int = 1000
    resample: str = "crossed"
    permutations: int = 1000
    seed: int = 0
    level: float = 0.95
    alt_epsilon: float = 0.2
    alt_scoring: str = "auto"
    alt_min_items: int = 30
    alt_q: float = 0.05
    alt_min_humans: int = 2
    alt_fallback: str = "none"
    #: RQ2/RQ3 groupings; None: the DICES grouping (rater_race x rater_gender) where the data set has both columns, else none
    groupings: list[list[str]] | None = None
    min_group_size: int = 2
    missing_attr: str = "unknown"
    power_items: list[int] = field(default_factory=lambda: [350, 1000, 3000, 10000])
    power_raters: list[int] | None = None
    power_sims: int = 1000
    persona_ratings: list[str] = field(default_factory=list)
    pairs: str = "default"
    splits: int = 10
    threshold: float | None = None
    threshold_quantile: float = 0.75
    ledger: str | None = None
    concurrency: int = 8
    threads: int | None = None
    samples: int = 1
    temperature: float = 0.0
    limit: int | None = None
    #: registered analyses to run after RQ1-RQ3 (``@annalign.analysis("name")``), in this order
    analyses: list[str] = field(default_factory=list)
    #: item fields to slice RQ1 by (``--slice-by``); setting any adds the "slices" analysis
    slice_by: list[str] = field(default_factory=list)
    #: separator of multi-valued item fields, applied only to fields whose values contain it
    slice_sep: str = ","

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, check_value(f.name, getattr(self, f.name)))
        if self.slice_by and "slices" not in self.analyses:
            self.analyses = [*self.analyses, "slices"]

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

    def groupings_for(self, rater_columns: Any) -> list[list[str]]:
        """The groupings to run on a data set with these rater columns: those set, else the DICES default where it applies."""
        if self.groupings is not None:
            return [list(by) for by in self.groupings]
        return [list(DICES_GROUPING)] if set(DICES_GROUPING) <= set(rater_columns) else []


def _counts(what: str, optional: bool = False) -> Check:
    """A list of whole numbers of at least 4 (command-line text: comma-separated)."""

    def check(value: Any, text_: bool) -> Any:
        if value is None and optional:
            return None
        return _power_items(value, text_, what)

    return check


def _power_items(value: Any, text_: bool, what: str = "empty: no power table") -> Any:
    """Item counts for the power table: whole numbers of at least 4 (empty: no power table)."""
    expected = f"a list of whole numbers of at least 4 ({what})"
    if text_ and isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise _Invalid(expected) from None
    if not isinstance(value, (list, tuple)) or any(isinstance(v, bool) or not isinstance(v, int) or v < 4 for v in value):
        raise _Invalid(expected)
    return list(value)


def _optional(rule: Check) -> Check:
    """The rule, or None."""

    def check(value: Any, text_: bool) -> Any:
        return None if value is None else rule(value, text_)

    return check


#: The one rule per setting.
RULES: dict[str, Check] = {
    "dataset": text(),
    "format": choice("auto", "dices", "long", "votes", "wide", "alttest", "judgebench", "lewidi"),
    "item_col": text(),
    "rater_col": text(),
    "rating_col": text(),
    "rater_attrs": names(optional=True, what="column names"),
    "item_fields": names(optional=True, what="column names"),
    "context_col": text(),
    "response_col": text(),
    "rating_map": rating_map,
    "scale": scale(),
    "measurement": choice("auto", "nominal", "ordinal", "interval"),
    "machine_rating_map": rating_map,
    "parse": text(optional=True),
    "raters": choice("all", "dices-kept"),
    "min_ratings": integer(0),
    "ratings": names(what="machine-rater file names"),
    "models": names(what="model specs"),
    "templates": names(min_len=1, what="template names or files"),
    "machine_scale": machine_scale,
    "method": choice("auto", "pearson", "spearman", "kendall"),
    "bootstrap": integer(10),
    "resample": choice("crossed", "items"),
    "permutations": integer(0),
    "seed": integer(0, 2**63 - 1),
    "level": number(0, 1, lo_open=True, hi_open=True),
    "alt_epsilon": number(0, 1),
    "alt_scoring": choice("auto", "accuracy", "neg_rmse"),
    "alt_min_items": integer(3),
    "alt_q": number(0, 1, lo_open=True, hi_open=True),
    "alt_min_humans": integer(2),
    "alt_fallback": choice("none", "wilcoxon"),
    "groupings": groupings,
    "min_group_size": integer(2),
    "missing_attr": choice("unknown", "drop", "error"),
    "power_items": _counts("empty: no power table"),
    "power_raters": _counts("raters per group", optional=True),
    "power_sims": integer(50),
    "persona_ratings": names(what="persona machine-rater file names"),
    "pairs": choice("default", "all"),
    "splits": integer(1),
    "threshold": _optional(number(0)),
    "threshold_quantile": number(0, 1, lo_open=True, hi_open=True),
    "ledger": text(optional=True),
    "concurrency": integer(1),
    "threads": integer(1, optional=True),
    "samples": integer(1),
    "temperature": number(0, 2),
    "limit": integer(3, optional=True),
    "analyses": names(what="registered analysis names"),
    "slice_by": names(what="item field names"),
    "slice_sep": text(),
}


def option_name(name: str) -> str:
    """The command-line option that sets ``name``."""
    return OPTION_NAMES.get(name, "--" + name.replace("_", "-"))


def check_value(name: str, value: Any, *, source: str | None = None, from_text: bool = False, label: str | None = None) -> Any:
    """Check one setting and return it in its canonical type; a one-line InputError otherwise.

    ``source`` is the config file the value came from (None: a Python call); ``from_text`` marks
    a command-line value, which arrives as text and is named by its option; ``label`` names a
    Python argument that carries the setting (``Resampling(n_boot=...)``) in the message.
    """
    rule = RULES.get(name)
    if rule is None:
        raise _unknown(name, source)
    try:
        return rule(value, from_text)
    except _Invalid as bad:
        if from_text:
            prefix, got = option_name(name), f"got {shown(value)}"
        else:
            prefix = label or (f"{source}: setting {name!r}" if source else f"setting {name!r}")
            got = f"got {shown(value)} ({_type_name(value)})"
        hint = f"; {bad.hint}" if bad.hint else ""
        raise InputError(f"{prefix} must be {bad.expected}, {got}{hint}") from None


def _unknown(name: str, source: str | None) -> InputError:
    known = sorted(RULES)
    close = difflib.get_close_matches(name, known, n=1)
    where = f"{source}: " if source else ""
    hint = f"did you mean {close[0]!r}? " if close else ""
    return InputError(f"{where}unknown setting {name!r} ({hint}known: {', '.join(known)})")


#: TOML tables whose keys are settings (``[dataset] path = ...`` names the data set).
SECTIONS = {"dataset", "analysis", "annotate", "groups", "models_section"}


def read_config(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML config file, each checked and named by key and file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"config file not found: {p}")
    try:
        raw = tomllib.loads(p.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not valid TOML ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc}") from None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict) and key in SECTIONS:
            value = dict(value)
            if key == "dataset":
                for alias in ("name", "path"):
                    if alias in value:
                        value["dataset"] = value.pop(alias)
            for inner, v in value.items():
                if inner not in RULES:
                    raise _unknown(inner, f"{p} [{key}]")
                values[inner] = v
        else:
            values[key] = value
    return {k: check_value(k, v, source=str(p)) for k, v in values.items()}


def load_settings(path: str | Path | None, overrides: dict[str, Any], *, from_text: bool = True) -> Settings:
    """Read a TOML config (flat keys or [dataset]/[analysis]/[annotate] tables) and apply overrides.

    ``overrides`` are command-line values (text, named by option); None, () and [] mean "not given".
    """
    values: dict[str, Any] = read_config(path) if path is not None else {}
    for key, value in overrides.items():
        if value is None or value == () or value == []:
            continue
        values[key] = check_value(key, value, from_text=from_text and isinstance(value, str))
    return Settings(**values)
