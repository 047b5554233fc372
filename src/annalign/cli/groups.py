"""``annalign groups``: group alignment (RQ2) from a data set and machine-rater files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from annalign.cli.options import (
    data_options,
    grouping_options,
    machine_options,
    resampling_options,
    settings_from_options,
)

if TYPE_CHECKING:
    from annalign.analyses.group_alignment import GroupResult


def summary_lines(result: GroupResult) -> list[str]:
    """A few terminal lines: per-group r and the omnibus verdict."""
    lines = [f"RQ2 groups by {', '.join(result.settings['by'])}: {len(result.groups)} groups"]
    for row in result.per_group.itertuples():
        lines.append(
            f"  {row.machine} | {row.group} (n={row.n_raters}): r {row.r:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}], "
            f"reliability {row.reliability:.2f}, adjusted {row.adjusted_r:.3f}"
        )
    for row in result.omnibus.itertuples():
        lines.append(f"  {row.machine}: any group difference? permutation p {row.p_perm:.3f}, adjusted-r chi2 p {row.p_adjusted:.3f}")
    return lines


def write_power_figure(result: GroupResult, machine: str, path: Path) -> None:
    """The report's power figure for one machine rater, as a PNG file."""
    from annalign.report.figures import new_figure, plot_power, save_png

    fig = new_figure(7.2, 3.8)
    plot_power(result, machine=machine, ax=fig.add_subplot())
    save_png(fig, path)


@click.command("groups")
@data_options
@machine_options
@resampling_options
@grouping_options
@click.option("--out", required=True, metavar="DIR", help="output folder")
@click.option("--permutations", metavar="N", help="permutations (default 1000)")
@click.option("--power-items", help="item counts for the power table (default 350,1000,3000,10000; '' to skip)")
@click.option("--power-raters", default=None, help="raters per group for extra power rows, e.g. 5,10,20")
@click.option("--power-sims", metavar="N", help="accepted for old scripts, no longer used: power is computed from a fitted model")
def groups(config_path: str | None, out: str, **options: Any) -> None:
    """Alignment of each machine rater with each demographic group, disparities, power and within-group spread."""
    from annalign.analyses.group_alignment import analyze_groups
    from annalign.pipeline.run import (
        collect_warnings,
        first_grouping,
        group_alignment_config,
        load_data,
        load_machines,
    )
    from annalign.results import distinct_file_names, output_errors, prepare_out_dir, write_outputs

    settings = settings_from_options(config_path, **options)
    prepare_out_dir(out)
    messages: list[str] = []
    with collect_warnings(messages, lambda m: click.echo(f"warning: {m}", err=True)):
        data = load_data(settings)
        machines = load_machines(data, settings)
        by = first_grouping(settings, data)
        result = analyze_groups(data, machines, by, group_alignment_config(settings))
    results = {
        "dataset": data.describe(),
        "settings": {**settings.to_dict(), "groupings": [by]},
        "machines": machines.summary() if machines is not None else [],
        "rq2": result.to_dict(),
        "warnings": messages,
    }
    path = write_outputs(out, results, {f"rq2_{k}": v for k, v in result.tables().items()})
    if result.power is not None and len(result.power):
        machine_names = list(result.per_group["machine"].unique())
        with output_errors("a power figure"):
            for machine, stem in zip(machine_names, distinct_file_names(machine_names), strict=True):
                write_power_figure(result, machine, Path(out) / f"rq2_power_{stem}.png")
    for line in summary_lines(result):
        click.echo(line)
    click.echo(f"results: {path}")
