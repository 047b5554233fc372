"""The ``annalign`` command line: datasets, analyze, run (and the commands of later modules)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from annalign import __version__
from annalign.cli_options import analysis_options, data_options, settings_from_options
from annalign.clirun import invoke
from annalign.config import Settings
from annalign.output import output_errors, prepare_out_dir, rq1_summary, rq2_summary, write_outputs
from annalign.pipeline import collect_warnings, load_data, load_machines, run_analyses
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
    from annalign.datasets import list_bundled

    for row in list_bundled():
        raters = row["raters"] if row["raters"] is not None else "-"
        click.echo(f"{row['name']:<10} items {row['items']:>5}  raters {raters:>5}  ratings {row['ratings']:>7}  {row['description']}")


def _analyze(settings: Settings, out: str, personas: bool = False) -> None:
    prepare_out_dir(out)
    warnings: list[str] = []
    provenance: dict[str, Any] = {}
    with collect_warnings(warnings, _echo_warning):
        data = load_data(settings)
        extra = []
        if settings.models:
            from annalign.annotation_step import annotate_for_run

            labels = None
            if personas:
                from annalign.disagreement import form_groups

                labels = list(form_groups(data, settings.groupings[0]).labels)
                n = len(labels) * (settings.limit or data.n_items) * len(settings.models) * len(settings.templates)
                _say(f"persona annotation: {n} requests ({len(labels)} groups), answered from the ledger where already done")
            extra, provenance = annotate_for_run(data, settings, Path(out), labels, say=_say)
        machines = load_machines(data, settings, extra)
        outputs = run_analyses(data, machines, settings)
    outputs.results["warnings"] = warnings
    outputs.results["provenance"] = provenance
    path = write_outputs(out, outputs.results, outputs.tables)
    from annalign.report import write_report

    with output_errors("the report"):
        paths = write_report(out, outputs.results, outputs.tables, data, machines)
    click.echo(redact(f"{data.name}: {data.n_items} items, {data.n_raters} raters, {data.n_ratings} ratings"))
    for line in rq1_summary(outputs.results["rq1"]):
        click.echo(redact(line))
    for line in rq2_summary(outputs.tables):
        click.echo(redact(line))
    if "rq3" in outputs.results:
        from annalign.disagreement_cli import rq3_summary

        for line in rq3_summary(outputs.results["rq3"]):
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
    from annalign.annotation_step import DEFAULT_MODEL

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


def _register_commands() -> None:
    """Commands that live beside their analyses: annotate (engine), groups (RQ2), disagreement (RQ3)."""
    from annalign.disagreement_cli import disagreement
    from annalign.engine.cli import annotate
    from annalign.groups_cli import groups

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
