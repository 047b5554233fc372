"""The run's report: figures (PNG and SVG), one self-contained report.html and report.md."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from annalign.report import render
from annalign.report.render import CSP

__all__ = ["CSP", "write_report"]


def write_report(
    out_dir: str | Path,
    results: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    data: Any = None,
    machines: Any = None,
) -> dict[str, Path]:
    """Write DIR/report.html, DIR/report.md and DIR/figures/*; every text redacted of secrets first."""
    from annalign.redaction import redact, redact_frame

    if machines is not None:
        machines = dataclasses.replace(
            machines, names=redact(list(machines.names)), sources=redact(list(machines.sources)), unrated=redact(dict(machines.unrated))
        )
    clean = {name: redact_frame(frame) for name, frame in tables.items()}
    return render.write_report(out_dir, redact(dict(results)), clean, data, machines)
