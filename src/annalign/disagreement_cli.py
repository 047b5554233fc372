"""``annalign disagreement``: RQ3 from the command line (observed group differences and their prediction).

Persona ratings come as machine-rater files whose ``rater`` column reads ``<model>|persona=<group
label>`` (for example ``gpt-4|persona=White|Woman``); other raters are baselines.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from annalign import __version__
from annalign.clirun import invoke
from annalign.datasets import load_dataset
from annalign.disagreement import (
    PERSONA_TAG,
    DisagreementResult,
    analyze_disagreement,
    form_groups,
    split_persona_raters,
)
from annalign.errors import InputError
from annalign.machine import load_machine_ratings
from annalign.output import write_outputs
from annalign.pipeline import collect_warnings


def _fmt(value: object, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def rq3_summary(rq3: dict[str, Any]) -> list[str]:
    """Human-readable lines for the "rq3" section of results.json."""
    s = rq3["settings"]
    lines = [
        f"RQ3 (groups by {', '.join(rq3['by'])}; {s['n_boot']} bootstrap replicates, {s['n_perm']} permutations, "
        f"{s['n_splits']} split halves, seed {s['seed']}; clear disagreement: {s['threshold_rule']})"
    ]
    for p in rq3["pairs"]:
        lines.append(
            f"  {p['a']} - {p['b']}: mean d {_fmt(p['mean_difference'])}, sd {_fmt(p['sd_difference'])}, "
            f"reliability {_fmt(p['reliability'])}, ceiling {_fmt(p['noise_ceiling'])} ({p['n_items']} items)"
        )
        for q in p["predictions"]:
            lines.append(
                f"    {q['kind']} {q['predictor']}: r {_fmt(q['r'])} [{_fmt(q['ci_low'])}, {_fmt(q['ci_high'])}], "
                f"p {_fmt(q['p_value'])}, r/ceiling {_fmt(q['r_over_ceiling'])}; on {q['n_clear']} clear items "
                f"accuracy {_fmt(q['accuracy'])}, AUC {_fmt(q['auc'])}"
            )
    return lines


def _echo_warning(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def run_disagreement(
    dataset: str,
    ratings: list[str],
    persona_ratings: list[str],
    *,
    by: list[str],
    groups: list[tuple[str, str]],
    pairs: str,
    raters: str = "all",
    min_ratings: int = 0,
    rating_map: str | None = None,
    machine_rating_map: str | None = None,
    threshold: float | None = None,
    threshold_quantile: float = 0.75,
    n_boot: int = 1000,
    n_perm: int = 1000,
    n_splits: int = 100,
    seed: int = 0,
) -> tuple[dict[str, Any], DisagreementResult, list[str]]:
    """Load data and machine ratings, run RQ3; returns (results.json content, result, warnings)."""
    warnings: list[str] = []
    with collect_warnings(warnings, _echo_warning):
        data = load_dataset(dataset, rating_map=rating_map)
        if data.has_raters:
            data = data.filter_raters(raters, min_ratings)
        n_groups = form_groups(data, by).n_groups
        click.echo(
            f"{data.name}: {data.n_items} items, {data.n_raters} raters; a persona run needs {n_groups} groups x "
            f"{data.n_items} items = {n_groups * data.n_items:,} requests per model"
        )
        baselines, personas, summary = {}, {}, []
        paths = [*ratings, *persona_ratings]
        if paths:
            machines = load_machine_ratings(paths, data, rating_map=machine_rating_map)
            summary = machines.summary()
            persona_sources = set(persona_ratings)
            for name, source in zip(machines.names, machines.sources, strict=True):
                if source in persona_sources and PERSONA_TAG not in name:
                    raise InputError(
                        f"{source}: rater {name!r} is not a persona rater; persona files need a 'rater' column "
                        f"with values '<model>{PERSONA_TAG}<group label>'"
                    )
            baselines, personas = split_persona_raters(machines)
        result = analyze_disagreement(
            data,
            personas or None,
            baselines or None,
            by=by,
            pairs=groups if groups else pairs,
            n_boot=n_boot,
            n_perm=n_perm,
            n_splits=n_splits,
            seed=seed,
            threshold=threshold,
            threshold_quantile=threshold_quantile,
        )
    results = {
        "annalign_version": __version__,
        "dataset": data.describe(),
        "machines": summary,
        "rq3": result.to_dict(),
        "warnings": warnings,
    }
    return results, result, warnings


@click.command("disagreement")
@click.option("--dataset", default="dices350", show_default=True, help="bundled name or a ratings file with rater identities")
@click.option("--rating-map", help="labels to numbers for the human ratings (default: the data set's)")
@click.option("--raters", type=click.Choice(["all", "dices-kept"]), default="all", show_default=True, help="rater filter")
@click.option("--min-ratings", type=click.IntRange(min=0), default=0, help="drop raters with fewer ratings")
@click.option("--ratings", multiple=True, help="baseline machine-rater file (item_id + score or label [+ rater]); repeatable")
@click.option(
    "--persona-ratings",
    multiple=True,
    help=f"persona machine-rater file: rater column '<model>{PERSONA_TAG}<group label>'; repeatable",
)
@click.option("--machine-rating-map", help="rating map for machine labels (default: the data set's)")
@click.option("--by", default="rater_race,rater_gender", show_default=True, help="comma-separated rater attributes forming the groups")
@click.option("--pairs", type=click.Choice(["default", "all"]), default="default", show_default=True,
              help="default: each group vs the rest, and pairs within levels of the other attributes; all: every pair")
@click.option("--groups", nargs=2, multiple=True, metavar="A B", help="compare group A with group B (B may be 'rest'); repeatable")
@click.option("--threshold", type=click.FloatRange(min=0), help="clear disagreement: |d| at or above this (default: top quartile)")
@click.option("--threshold-quantile", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.75, show_default=True,
              help="quantile of |d| used when --threshold is not given")
@click.option("--bootstrap", type=click.IntRange(min=10), default=1000, show_default=True, help="bootstrap replicates")
@click.option("--permutations", type=click.IntRange(min=0), default=1000, show_default=True, help="permutations (0: no p-value)")
@click.option("--splits", type=click.IntRange(min=1), default=100, show_default=True, help="random split halves for reliability")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="output folder")
def disagreement(
    dataset: str,
    rating_map: str | None,
    raters: str,
    min_ratings: int,
    ratings: tuple[str, ...],
    persona_ratings: tuple[str, ...],
    machine_rating_map: str | None,
    by: str,
    pairs: str,
    groups: tuple[tuple[str, str], ...],
    threshold: float | None,
    threshold_quantile: float,
    bootstrap: int,
    permutations: int,
    splits: int,
    seed: int,
    out: str,
) -> None:
    """RQ3: do groups disagree, how reliably, and can a machine rater (persona or plain) predict it?"""
    by_cols = [c.strip() for c in by.split(",") if c.strip()]
    results, result, _ = run_disagreement(
        dataset,
        list(ratings),
        list(persona_ratings),
        by=by_cols,
        groups=[tuple(g) for g in groups],
        pairs=pairs,
        raters=raters,
        min_ratings=min_ratings,
        rating_map=rating_map,
        machine_rating_map=machine_rating_map,
        threshold=threshold,
        threshold_quantile=threshold_quantile,
        n_boot=bootstrap,
        n_perm=permutations,
        n_splits=splits,
        seed=seed,
    )
    path = write_outputs(out, results, result.tables())
    for line in rq3_summary(results["rq3"]):
        click.echo(line)
    click.echo(f"results: {path}")


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: one-line errors with exit code 2 for bad input."""
    return invoke(disagreement, argv, "annalign disagreement")


if __name__ == "__main__":
    sys.exit(main())
