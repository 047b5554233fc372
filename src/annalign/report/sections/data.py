"""The data set, machine raters and settings of a run, and its provenance (what produced the numbers, the data's licence)."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import TYPE_CHECKING

from annalign.report.model import Section, Table, clean, count, flatten, num, pct

if TYPE_CHECKING:
    from annalign.results import RunResult

DICES_ATTRIBUTION = (
    "DICES dataset by Google LLC (Aroyo et al., 2023, \"DICES Dataset: Diversity in Conversational AI Evaluation for "
    "Safety\", NeurIPS Datasets and Benchmarks), used under the Creative Commons Attribution 4.0 International licence"
)
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
DICES_URL = "https://github.com/google-research-datasets/dices-dataset"


def dataset_reading(run: RunResult) -> str:
    """'43050 ratings of 350 items by 123 human raters.'"""
    data = run.data
    return f"{count(data.n_ratings)} ratings of {count(data.n_items)} items by {count(data.n_raters)} human raters."


def machines_reading(run: RunResult) -> str:
    """How many machine raters, and how many of their item ratings are missing."""
    rows = run.machines.summary() if run.machines is not None else []
    unrated = sum(int(m["n_unrated"]) for m in rows)
    missing = "every item was rated." if unrated == 0 else (
        f"{count(unrated)} item ratings are missing (refusals or unparsed answers) and left out, never filled in.")
    return f"{count(len(rows))} machine rater(s); {missing}"


def dataset_table(run: RunResult) -> Table:
    """Name, source, sizes, density, rating map and rater attributes of the data set."""
    data = run.data
    mapping = data.rating_map.to_dict()
    rows = [
        ["data set", clean(data.name)],
        ["source", clean(data.source)],
        ["items", count(data.n_items)],
        ["human raters", count(data.n_raters)],
        ["ratings", count(data.n_ratings)],
    ]
    if data.has_raters and data.n_raters:
        rows.append(["share of item x rater cells rated", pct(100 * data.n_ratings / (data.n_items * data.n_raters))])
    values = mapping.get("mapping")
    shown = ": " + ", ".join(f"{clean(k)} = {num(v, 2)}" for k, v in values.items()) if values else ""
    rows.append(["rating map", clean(mapping.get("name", "n/a")) + shown])
    if len(data.raters.columns):
        rows.append(["rater attributes", ", ".join(clean(a) for a in data.raters.columns)])
    return Table("table-dataset", "Data set", dataset_reading(run), ["", "value"], rows)


def data_section(run: RunResult) -> Section:
    """The data set, the machine raters and the settings used."""
    section = Section("data", "Data, raters and settings")
    section.add(dataset_table(run))
    if run.machines is not None and run.machines.n_machines:
        rows = [[clean(m["rater"]), clean(m["source"]), count(m["n_rated"]), count(m["n_unrated"])] for m in run.machines.summary()]
        section.add(Table("table-machines", "Machine raters", machines_reading(run),
                          ["machine rater", "source", "items rated", "items not rated"], rows))
    if run.settings:
        section.add(Table("table-settings", "Settings used", "Every setting of this run, as written to the output folder.",
                          ["setting", "value"], [[k, v] for k, v in flatten(run.settings)], numeric=[False, False]))
    return section


def template_hashes(run: RunResult) -> list[list[str]]:
    """sha256 of each configured prompt template shipped with annalign (when models were run)."""
    if not run.settings.get("models"):
        return []
    rows = []
    for name in run.settings.get("templates") or []:
        path = resources.files("annalign").joinpath("engine", "templates", f"{name}.txt")
        if path.is_file():
            rows.append([clean(name), hashlib.sha256(path.read_bytes()).hexdigest()[:16]])
    return rows


def provenance_section(run: RunResult) -> Section:
    """Package version, correlation, bootstrap, seed, models, templates and the run's provenance record."""
    section = Section("provenance", "Provenance")
    rq1 = run.rq1
    rows = [
        ["annalign version", clean(run.version or "n/a")],
        ["correlation", clean(rq1.method)],
        ["bootstrap replicates", count(rq1.n_boot)],
        ["seed", count(rq1.seed)],
        ["models", ", ".join(clean(m) for m in run.settings.get("models") or []) or "(none: machine ratings read from files)"],
    ]
    if "templates" not in run.provenance:
        rows += [[f"template {n}", f"sha256 {h}"] for n, h in template_hashes(run)]
    if run.provenance:
        rows += [[f"provenance.{k}", v] for k, v in flatten(run.provenance)]
    section.add(Table("table-provenance", "Run provenance", "What produced these numbers; the same seed and settings reproduce them.",
                      ["", "value"], rows, numeric=[False, False]))
    return section


def is_dices(run: RunResult) -> bool:
    """Whether the data are (derived from) the bundled DICES sets, which need attribution."""
    return "dices" in str(run.data.name).lower() or str(run.data.source).startswith("bundled:")


def notice_text() -> str:
    """The bundled data's notice (annalign/datasets/NOTICE.md), or '' when absent."""
    path = resources.files("annalign").joinpath("datasets", "NOTICE.md")
    return path.read_text("utf-8") if path.is_file() else ""
