"""Command-line options shared by every command that reads data (analyze, run, groups, disagreement, annotate).

Options arrive as text and are checked by the settings layer (``annalign.config``), so a bad
value gets the same one-line message from the command line, a TOML file or a Python call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from annalign.config import Settings, load_settings
from annalign.errors import InputError


def _scale(texts: tuple[str, ...] | None) -> dict[str, list[float]] | None:
    """Parse --machine-scale values: ``LO,HI`` for every machine rater or ``NAME=LO,HI`` for one."""
    if not texts:
        return None
    out: dict[str, list[float]] = {}
    for text in texts:
        name, _, spec = text.rpartition("=")
        try:
            lo, hi = (float(p) for p in spec.split(","))
        except ValueError:
            raise InputError(f"--machine-scale must be LO,HI or NAME=LO,HI (for example 1,5), got {text!r}") from None
        out[name or "*"] = [lo, hi]
    return out


def _apply(func: Callable[..., Any], options: list[Callable[[Any], Any]]) -> Callable[..., Any]:
    for option in reversed(options):
        func = option(func)
    return func


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads a data set."""
    return _apply(func, [
        click.option("--dataset", help="bundled name (dices350, dices990) or a file (official DICES CSV, long-form CSV/TSV/Parquet/JSONL/JSON)"),
        click.option("--format", "fmt", metavar="auto|dices|long|votes|wide|alttest|judgebench|lewidi",
                     help="data set layout (default: auto; a .json object is detected as alttest, judgebench or lewidi)"),
        click.option("--item-col", help="long form: item id column (default item_id)"),
        click.option("--rater-col", help="long form: rater id column (default rater_id)"),
        click.option("--rating-col", help="long form: rating column (default rating)"),
        click.option("--rater-attrs", help="long form: comma-separated rater attribute columns (default: detected)"),
        click.option("--item-fields", help="long form: comma-separated item text columns (default: detected)"),
        click.option("--context-col", help="item column holding the conversation (default context)"),
        click.option("--response-col", help="item column holding the response to rate (default response)"),
        click.option("--rating-map", help="labels to numbers: dices (Yes=1,Unsure=0.5,No=0), numeric, numeric:LO,HI, 'A=1,B=0', or a JSON/TOML file"),
        click.option("--scale", metavar="LO,HI", help="declared human rating scale: ratings outside it are refused"),
        click.option("--measurement", metavar="auto|nominal|ordinal|interval",
                     help="the task's level of measurement (default auto: from the rating map, else inferred and reported)"),
        click.option("--raters", metavar="all|dices-kept", help="rater filter (default all)"),
        click.option("--min-ratings", metavar="N", help="drop raters with fewer ratings"),
        click.option("--config", "config_path", metavar="FILE", help="TOML settings file"),
    ])  # fmt: skip


def machine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options that read machine-rater files."""
    return _apply(func, [
        click.option("--ratings", "ratings", multiple=True, help="machine-rater file (item_id + score, label or text [+ rater]); repeatable"),
        click.option("--machine-rating-map", help="rating map for machine labels (default: the data set's)"),
        click.option("--machine-scale", multiple=True, help="LO,HI or NAME=LO,HI: map machine scores from this range onto the human scale (alt-test RMSE)"),
        click.option("--parse", metavar="TEMPLATE", help="read raw model answers (column text, else label) with the strict parser of this template"),
    ])  # fmt: skip


def resampling_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Bootstrap replicates and seed."""
    return _apply(func, [
        click.option("--bootstrap", metavar="N", help="bootstrap replicates, at least 10 (default 1000)"),
        click.option("--seed", metavar="N", help="random seed, a whole number >= 0 (default 0)"),
        click.option("--resample", metavar="crossed|items",
                     help="RQ1's headline, RQ2 and RQ3 group intervals and tests: resample items and the raters (crossed, default: "
                          "the claims are about groups) or items only (conditional on these raters)"),
    ])  # fmt: skip


def grouping_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How raters form groups, the same for RQ2 (groups) and RQ3 (disagreement): --by, --min-group-size, --missing-attr."""
    return _apply(func, [
        click.option("--by", multiple=True,
                     help="comma-separated rater attribute columns forming the groups; repeatable, one grouping each "
                          "(default rater_race,rater_gender where the data set has both)"),
        click.option("--min-group-size", metavar="N", help="groups with fewer raters are left out of RQ2 and RQ3, at least 2 (default 2)"),
        click.option("--missing-attr", metavar="unknown|drop|error",
                     help="raters with a missing or blank attribute: an 'unknown' group, left out, or an error (default unknown)"),
    ])  # fmt: skip


def analysis_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options of the statistical analyses (RQ1 and what follows)."""
    func = _apply(func, [
        click.option("--method", metavar="auto|pearson|spearman|kendall",
                     help="RQ1 correlation (default auto: spearman for ordinal tasks, pearson otherwise)"),
        click.option("--alt-epsilon", metavar="EPS", help="alt-test cost allowance epsilon, 0 to 1 (default 0.2, the authors'; they advise 0.2 experts, 0.15 skilled annotators, 0.1 crowd workers)"),
        click.option("--alt-scoring", metavar="auto|accuracy|neg_rmse", help="alt-test scoring"),
        click.option("--alt-q", metavar="Q", help="alt-test false-discovery rate (Benjamini-Yekutieli), between 0 and 1 (default 0.05)"),
        click.option("--alt-min-items", metavar="N", help="alt-test: items a human needs beside the machine to be tested, at least 3 (default 30)"),
        click.option("--alt-min-humans", metavar="N", help="alt-test: items count only with at least N human ratings, at least 2 (default 2)"),
        click.option("--alt-fallback", metavar="none|wilcoxon", help="alt-test: test raters under --alt-min-items (with 5 or more) by a Wilcoxon signed-rank test (default none: left out)"),
        click.option("--analysis", "analyses", multiple=True, metavar="NAME",
                     help="registered analysis to run after RQ1-RQ3, repeatable (built in: agreement, Krippendorff's alpha)"),
        click.option("--slice-by", "slice_by", multiple=True, metavar="FIELD",
                     help="item field to report RQ1 per value of, repeatable (multi-valued fields split on --slice-sep)"),
        click.option("--slice-sep", metavar="SEP", help="separator of multi-valued item fields (default ',')"),
    ])  # fmt: skip
    return machine_options(resampling_options(grouping_options(func)))


def settings_from_options(config_path: str | None, **cli: Any) -> Settings:
    """The Settings for a command: defaults, then the TOML file, then the options given."""
    cli["machine_scale"] = _scale(cli.get("machine_scale"))
    if "by" in cli:  # each --by is one grouping (the setting holds a list of them)
        by = cli.pop("by") or ()
        cli["groupings"] = [[p.strip() for p in text.split(",")] for text in by] or None
    if "fmt" in cli:
        cli["format"] = cli.pop("fmt")
    for key in ("ratings", "models", "templates", "analyses", "slice_by"):
        if key in cli:
            cli[key] = list(cli.get(key) or []) or None
    return load_settings(config_path, cli)
