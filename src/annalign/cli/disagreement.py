"""``annalign disagreement``: RQ3 from the command line (observed group differences and their prediction).

Persona ratings come as machine-rater files whose ``rater`` column reads ``<model>|persona=<group
label>`` (``core.raters``; for example ``gpt-4|persona=White × Woman``, or the older
``gpt-4|persona=White|Woman``); other raters are baselines.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from annalign import __version__
from annalign.cli.exits import invoke
from annalign.cli.options import (
    data_options,
    grouping_options,
    machine_options,
    resampling_options,
    settings_from_options,
)
from annalign.core.raters import format_persona_rater, is_persona_rater
from annalign.errors import InputError

if TYPE_CHECKING:
    from annalign.analyses.group_disagreement import (
        DisagreementResult,
    )
    from annalign.config import Settings


def _echo_warning(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def run_disagreement(
    settings: Settings, *, groups: list[tuple[str, str]] | None = None, out_dir: str | None = None
) -> tuple[dict[str, Any], DisagreementResult, list[str]]:
    """Load data and machine ratings as the settings say, run RQ3; returns (results.json content, result, warnings).

    ``settings.ratings`` are baseline machine raters, ``settings.persona_ratings`` persona raters
    (named ``<model>|persona=<group label>``); ``groups`` lists explicit (A, B) pairs. With
    ``settings.models``, each model annotates the items plainly (a baseline) and as each group's
    persona, through the ledger (default OUT/ledger.sqlite), so a rerun pays for nothing twice.
    """
    from annalign.analyses.group_disagreement import analyze_disagreement, split_persona_raters
    from annalign.core.grouping import make_groups
    from annalign.core.machines import drop_constant
    from annalign.datasets.machine_files import load_machine_ratings
    from annalign.pipeline.run import (
        collect_warnings,
        disagreement_config,
        first_grouping,
        load_data,
    )

    warnings: list[str] = []
    with collect_warnings(warnings, _echo_warning):
        data = load_data(settings)
        by = first_grouping(settings, data)
        if not data.has_raters:
            raise InputError(f"data set {data.name} has no rater identities; RQ3 needs rater-level ratings")
        n_groups = make_groups(data.raters, by, min_group_size=settings.min_group_size, missing_attr=settings.missing_attr).n_groups
        click.echo(
            f"{data.name}: {data.n_items} items, {data.n_raters} raters; a persona run needs {n_groups} groups x "
            f"{data.n_items} items = {n_groups * data.n_items:,} requests per model"
        )
        baselines, personas, summary = {}, {}, []
        paths = [*settings.ratings, *settings.persona_ratings]
        parts = []
        if paths:
            machines = load_machine_ratings(
                paths, data, rating_map=settings.machine_rating_map, parse=settings.parse, scales=_scales(settings)
            )
            persona_sources = set(settings.persona_ratings)
            for name, source in zip(machines.names, machines.sources, strict=True):
                if source in persona_sources and not is_persona_rater(name):
                    raise InputError(
                        f"{source}: rater {name!r} is not a persona rater; persona files need a 'rater' column "
                        f"with values {format_persona_rater('<model>', '<group label>')!r}"
                    )
            parts.append(machines)
        if settings.models:
            parts += _annotate_personas(data, settings, by, out_dir)
        if parts:
            from annalign.core.machines import combine

            kept = drop_constant(combine(parts), data)
            if kept is not None:
                summary = kept.summary()
                baselines, personas = split_persona_raters(kept)
        config = disagreement_config(settings, list(groups) if groups else None)
        result = analyze_disagreement(data, personas or None, baselines or None, by=by, config=config)
    results = {
        "annalign_version": __version__,
        "dataset": data.describe(),
        "settings": {**settings.to_dict(), "groupings": [by]},
        "machines": summary,
        "rq3": result.to_dict(),
        "warnings": warnings,
    }
    return results, result, warnings


def _annotate_personas(data: Any, settings: Settings, by: list[str], out_dir: str | None) -> list[Any]:
    """Each model's plain and persona ratings of the items (one persona per group of ``by``), through the ledger."""
    from pathlib import Path

    from annalign.core.grouping import make_groups
    from annalign.pipeline.annotation import annotate_for_run

    if out_dir is None:
        raise InputError("annotating personas needs an output folder (--out) for the ledger and the machine-rater files")
    labels = list(make_groups(data.raters, by, min_group_size=settings.min_group_size, missing_attr=settings.missing_attr).labels)
    settings = replace(settings, groupings=[by])  # the personas speak for the groups RQ3 compares
    parts, _ = annotate_for_run(data, settings, Path(out_dir), labels, say=lambda m: click.echo(m, err=True))
    return parts


def _scales(settings: Settings) -> dict[str, list[float]] | None:
    """--machine-scale as {rater or "*": [LO, HI]}."""
    if isinstance(settings.machine_scale, dict):
        return settings.machine_scale
    return {"*": settings.machine_scale} if settings.machine_scale else None


@click.command("disagreement")
@data_options
@machine_options
@resampling_options
@click.option(
    "--persona-ratings",
    multiple=True,
    help=f"persona machine-rater file: rater column {format_persona_rater('<model>', '<group label>')!r}; repeatable",
)
@grouping_options
@click.option("--pairs", metavar="default|all",
              help="default: each group vs the rest, and pairs within levels of the other attributes; all: every pair")
@click.option("--groups", nargs=2, multiple=True, metavar="A B", help="compare group A with group B (B may be 'rest'); repeatable")
@click.option("--threshold", metavar="D", help="clear disagreement: |d| at or above this (default: top quartile)")
@click.option("--threshold-quantile", metavar="Q", help="quantile of |d| used when --threshold is not given (default 0.75)")
@click.option("--permutations", metavar="N", help="permutations (0: no p-value; default 1000)")
@click.option("--splits", metavar="N", help="random item halves of the crossed rater part (default 10)")
@click.option("--model", "models", multiple=True,
              help="model spec that annotates the items plainly and as each group's persona, through the ledger; repeatable")
@click.option("--template", "templates", multiple=True, help="prompt template for --model (default dices-likert); repeatable")
@click.option("--ledger", type=click.Path(dir_okay=False), help="SQLite ledger for --model (default OUT/ledger.sqlite)")
@click.option("--concurrency", metavar="N", help="parallel requests for --model (default 8)")
@click.option("--threads", metavar="N", help="local: models: llama.cpp threads (default: every idle core)")
@click.option("--limit", metavar="N", help="annotate only the first N items, at least 3 (smoke runs)")
@click.option("--out", required=True, metavar="DIR", help="output folder")
def disagreement(config_path: str | None, groups: tuple[tuple[str, str], ...], out: str, **options: Any) -> None:
    """RQ3: do groups disagree, how reliably, and can a machine rater (persona or plain) predict it?"""
    from annalign.results import prepare_out_dir, write_outputs

    options["persona_ratings"] = list(options.get("persona_ratings") or []) or None
    options["models"] = list(options.get("models") or []) or None
    options["templates"] = list(options.get("templates") or []) or None
    settings = settings_from_options(config_path, **options)
    prepare_out_dir(out)
    results, result, _ = run_disagreement(settings, groups=[(a, b) for a, b in groups], out_dir=out)
    path = write_outputs(out, results, result.tables())
    for line in result.summary():
        click.echo(line)
    click.echo(f"results: {path}")


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: one-line errors with exit code 2 for bad input."""
    return invoke(disagreement, argv, "annalign disagreement")


if __name__ == "__main__":
    sys.exit(main())
