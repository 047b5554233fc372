"""The ``annalign`` command line: datasets, analyze, run (and the commands of later modules)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from annalign import __version__
from annalign.cli.exits import invoke
from annalign.cli.options import analysis_options, data_options, settings_from_options
from annalign.config import Settings
from annalign.redaction import redact


def _echo_warning(message: str) -> None:
    click.echo(f"warning: {redact(message)}", err=True)


def _say(message: str) -> None:
    click.echo(redact(message), err=True)


def _settings(config_path: str | None, **cli: Any) -> Settings:
    return settings_from_options(config_path, **cli)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="annalign")
def cli() -> None:
    """annalign: how far do an LLM's annotations agree with diverse human annotators?"""


@cli.command()
def datasets() -> None:
    """List the bundled data sets and their sizes."""
    from annalign.datasets.catalog import list_bundled

    for row in list_bundled():
        raters = row["raters"] if row["raters"] is not None else "-"
        click.echo(f"{row['name']:<10} items {row['items']:>5}  raters {raters:>5}  ratings {row['ratings']:>7}  {row['description']}")


def _analyze(settings: Settings, out: str, personas: bool = False) -> None:
    from annalign.pipeline.run import run_settings
    from annalign.report.background import FigureWorkers
    from annalign.results import output_errors, prepare_out_dir

    prepare_out_dir(out)
    # Forked now (numpy and pandas loaded): the workers import matplotlib and draw each part's figures while the next is computed.
    with FigureWorkers() as figures:
        result = run_settings(settings, out, personas=personas, say=_say, echo_warning=_echo_warning, on_result=figures.submit)
        path = result.save(out)
        from annalign.report import write_report

        with output_errors("the report"):
            paths = write_report(result, out, drawn=figures)
    for line in result.summary():  # the data set, then result.rq1.summary(), the first RQ2's, RQ3's
        click.echo(redact(line))
    click.echo(f"results: {path}")
    click.echo(f"report: {paths['html']}")


@cli.command()
@data_options
@analysis_options
@click.option("--out", required=True, metavar="DIR", help="output folder")
def analyze(out: str, config_path: str | None, **options: Any) -> None:
    """Compare machine raters with the human raters of a data set (RQ1 and the analyses that apply)."""
    settings = _settings(config_path, **options)
    _analyze(settings, out)


@cli.command()
@data_options
@analysis_options
@click.option("--model", "models", multiple=True, help="model spec to annotate with (default local:smollm2-135m); repeatable")
@click.option("--no-model", is_flag=True, help="skip LLM annotation: analyse the humans and any --ratings files only")
@click.option("--template", "templates", multiple=True, help="prompt template name or file (default dices-likert); repeatable")
@click.option("--personas", is_flag=True, help="also annotate as each group's persona (RQ3 predictions; groups x items requests)")
@click.option("--ledger", type=click.Path(dir_okay=False), help="SQLite ledger (default OUT/ledger.sqlite)")
@click.option("--concurrency", metavar="N", help="parallel requests (default 8)")
@click.option("--threads", metavar="N", help="local: models: llama.cpp threads (default: every idle core)")
@click.option("--limit", metavar="N", help="annotate only the first N items, at least 3 (smoke runs)")
@click.option("--out", default="results", show_default=True, metavar="DIR", help="output folder")
def run(out: str, config_path: str | None, no_model: bool, personas: bool, **options: Any) -> None:
    """The main job: annotate with the model(s), then run every analysis on DICES-350 (or the configured data)."""
    from annalign.pipeline.annotation import DEFAULT_MODEL
    from annalign.results import output_errors, prepare_out_dir

    options["models"] = list(options.get("models") or []) or None
    options["templates"] = list(options.get("templates") or []) or None
    settings = _settings(config_path, **options)
    if no_model:
        settings.models = []
    elif not settings.models:
        settings.models = [DEFAULT_MODEL]
    prepare_out_dir(out)
    with output_errors("the settings"):
        (Path(out) / "settings.json").write_text(json.dumps(redact(settings.to_dict()), indent=2), "utf-8")
        if config_path:  # the exact config used travels with the results (without credentials)
            (Path(out) / "config.toml").write_text(redact(Path(config_path).read_text("utf-8")), "utf-8")
    _analyze(settings, out, personas=personas)


@cli.command("alttest")
@data_options
@analysis_options
@click.option("--out", metavar="DIR", help="output folder for alt_test.csv and alt_test.json (default: print only)")
def alttest(out: str | None, config_path: str | None, **options: Any) -> None:
    """Only the alternative annotator test (Calderon et al. 2025) of each --ratings machine against the humans."""
    from annalign.api import AltTestOptions, alt_test
    from annalign.pipeline.run import collect_warnings, load_data, load_machines
    from annalign.results import output_errors, prepare_out_dir

    settings = _settings(config_path, **options)
    if not settings.ratings:
        raise click.UsageError("alttest needs at least one --ratings machine-rater file")
    if out:
        prepare_out_dir(out)
    warnings: list[str] = []
    with collect_warnings(warnings, _echo_warning):
        data = load_data(settings)
        machines = load_machines(data, settings, keep_constant=True)
        assert machines is not None  # settings.ratings is not empty
        opts = AltTestOptions(settings.alt_epsilon, settings.alt_q, settings.alt_scoring, settings.alt_min_items, settings.alt_min_humans,
                              settings.alt_fallback)
        results = alt_test(data, machines, opts)
    from annalign.analyses.alignment import alt_test_line, epsilon_curves

    click.echo(f"alt-test on {data.name}: {data.n_items} items, {data.n_raters} human raters")
    for name, result in results.items():
        click.echo(redact(alt_test_line(name, result)))
    if out:
        import pandas as pd

        with output_errors("the alt-test results"):
            frame = pd.concat([r.per_rater.assign(machine=n) for n, r in results.items()], ignore_index=True)
            frame.to_csv(Path(out) / "alt_test.csv", index=False)
            epsilon_curves(results).to_csv(Path(out) / "alt_test_epsilon.csv", index=False)
            body = {"dataset": data.name, "machines": {n: r.to_dict() for n, r in results.items()}, "warnings": warnings}
            (Path(out) / "alt_test.json").write_text(json.dumps(redact(body), indent=2, default=str), "utf-8")
        click.echo(f"results: {Path(out) / 'alt_test.json'}")


def _register_commands() -> None:
    """Commands that live beside their analyses: annotate (engine), groups (RQ2), disagreement (RQ3)."""
    from annalign.cli.annotate import annotate
    from annalign.cli.disagreement import disagreement
    from annalign.cli.groups import groups

    for command in (annotate, groups, disagreement):
        cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit code 2 for bad input, 130 on Ctrl-C."""
    return invoke(cli, argv, "annalign")


if __name__ == "__main__":
    sys.exit(main())


def entry() -> None:
    """Console-script wrapper: exit with main()'s status."""
    sys.exit(main())
