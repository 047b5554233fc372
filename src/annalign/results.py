"""A run's results: the typed RunResult, and writing it as results.json, CSV tables and terminal lines."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from annalign.core.jsonsafe import jsonable
from annalign.errors import InputError
from annalign.redaction import redact, redact_frame

if TYPE_CHECKING:
    from annalign.analyses.alignment import RQ1Result
    from annalign.analyses.group_alignment import GroupResult
    from annalign.analyses.group_disagreement import DisagreementResult
    from annalign.core.annotations import Annotations
    from annalign.core.machines import MachineRatings


def _reason(exc: OSError) -> str:
    """'Not a directory', 'Permission denied', ... without the errno number."""
    return exc.strerror or type(exc).__name__


def prepare_out_dir(path: str | Path, option: str = "--out") -> Path:
    """Create the output folder (and parents) and check it is writable, before any work; a one-line InputError if not."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{option} {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(out) else ""
        raise InputError(f"{option} {out}: cannot create the folder: {_reason(exc)}{where}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"{option} {out}: the folder is not writable")
    return out


@contextmanager
def output_errors(what: str = "output") -> Iterator[None]:
    """Turn an OSError while writing outputs (disk full, permissions, a file in the way) into a one-line InputError."""
    try:
        yield
    except InputError:
        raise
    except OSError as exc:
        target = f" {exc.filename}" if exc.filename else ""
        raise InputError(f"cannot write {what}{target}: {_reason(exc)}") from None


def safe_file_name(name: str) -> str:
    """A name that is safe as part of a file name: letters, digits, '.', '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "rater"


def file_stem(name: str, limit: int = 120) -> str:
    """A file-name stem for ``name`` on its own: its safe form, plus a short hash of ``name`` when that changed it.

    Names that need no change keep their form; any other name gets the hash, so two names that
    sanitise (or truncate) to the same text still get different stems ("a/b" is "a_b-<hash>",
    "a_b" stays "a_b").
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "rater"
    if safe == name and len(safe) <= limit:
        return safe
    return f"{safe[: limit - 9]}-{hashlib.sha256(str(name).encode('utf-8')).hexdigest()[:8]}"


def distinct_file_names(names: Sequence[str]) -> list[str]:
    """Safe file-name stems for ``names``, distinct even where sanitising makes two names equal.

    A name whose safe form clashes with another's (``a/b`` and ``a_b``; case is ignored, as on
    macOS and Windows) gets a short hash of the original name appended, so no output overwrites
    another; names that need no change keep their form.
    """
    stems = [safe_file_name(n) for n in names]
    counts = Counter(s.casefold() for s in stems)
    out: list[str] = []
    used: set[str] = set()
    for name, stem in zip(names, stems, strict=True):
        if (counts[stem.casefold()] > 1 and stem != name) or stem.casefold() in used:
            stem = f"{stem}-{hashlib.sha256(str(name).encode('utf-8')).hexdigest()[:8]}"
        used.add(stem.casefold())
        out.append(stem)
    return out


def write_outputs(out_dir: str | Path, results: dict[str, Any], tables: dict[str, pd.DataFrame]) -> Path:
    """Write DIR/results.json and one CSV per table (secrets redacted); returns the results.json path (OSError: one-line InputError)."""
    out = prepare_out_dir(out_dir)
    with output_errors("the results"):
        for name, frame in tables.items():
            redact_frame(frame).to_csv(out / f"{name}.csv", index=False)
        path = out / "results.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(redact(jsonable(results)), indent=2, ensure_ascii=False, allow_nan=False), "utf-8")
        tmp.replace(path)
    return path


#: results.json layout version; bumped when a key changes meaning (keys are only ever added).
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunResult:
    """One whole run, typed: the data, the machine raters and every analysis's result object.

    ``to_dict()`` is results.json (the keys earlier versions wrote, plus ``schema_version``) and
    ``tables()`` the CSV tables; the report reads the result objects themselves.
    """

    data: Annotations
    machines: MachineRatings | None
    settings: dict[str, Any]
    rq1: RQ1Result
    rq2: dict[str, GroupResult] = field(default_factory=dict)
    rq3: DisagreementResult | None = None
    #: results of analyses registered beyond RQ1-RQ3, by name (their results.json key)
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    @property
    def groupings(self) -> list[str]:
        """The RQ2 groupings in the order the settings give them ("rater_race+rater_gender", ...)."""
        return list(self.rq2)

    def to_dict(self) -> dict[str, Any]:
        """The results.json content (JSON-safe)."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "annalign_version": self.version,
            "dataset": self.data.describe(),
            "settings": self.settings,
            "machines": self.machines.summary() if self.machines is not None else [],
            "rq1": self.rq1.to_dict(),
        }
        for position, (by, groups) in enumerate(self.rq2.items()):
            if position == 0:
                out["rq2"] = groups.to_dict()
            else:
                out.setdefault("rq2_other_groupings", {})[by] = groups.to_dict()
        if self.rq3 is not None:
            out["rq3"] = self.rq3.to_dict()
        for name, result in self.extra.items():
            out[name] = result.to_dict()
        out["warnings"] = list(self.warnings)
        out["provenance"] = self.provenance
        return jsonable(out)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables by file stem: rq1_*, rq2_* (first grouping), rq2_<grouping>_* (the others), rq3_*."""
        tables = dict(self.rq1.tables())
        for position, (by, groups) in enumerate(self.rq2.items()):
            prefix = "rq2" if position == 0 else f"rq2_{safe_file_name(by)}"
            tables.update({f"{prefix}_{name}": frame for name, frame in groups.tables().items()})
        if self.rq3 is not None:
            tables.update(self.rq3.tables())
        for result in self.extra.values():
            tables.update(result.tables())
        return tables

    def summary(self) -> list[str]:
        """The lines ``annalign analyze`` prints: the data set, then RQ1, RQ2 (first grouping), RQ3 and any other analysis."""
        data = self.data
        lines = [f"{data.name}: {data.n_items} items, {data.n_raters} raters, {data.n_ratings} ratings", *self.rq1.summary()]
        if self.rq2:
            lines += next(iter(self.rq2.values())).summary()
        if self.rq3 is not None:
            lines += self.rq3.summary()
        for result in self.extra.values():
            lines += result.summary() if hasattr(result, "summary") else []
        return lines

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(chr(10).join(self.summary()))}</pre>"

    def save(self, out_dir: str | Path) -> Path:
        """Write DIR/results.json and the CSV tables; returns the results.json path."""
        return write_outputs(out_dir, self.to_dict(), self.tables())
