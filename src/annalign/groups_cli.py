"""``annalign groups``: group alignment (RQ2) from a data set and machine-rater files."""

from __future__ import annotations

from pathlib import Path

import click

from annalign.datasets import load_dataset
from annalign.errors import InputError
from annalign.groups import DEFAULT_BY, MISSING_MODES, GroupResult, analyze_groups
from annalign.machine import load_machine_ratings
from annalign.output import write_outputs
from annalign.pipeline import collect_warnings
from annalign.power import plot_power


def parse_int_list(text: str | None, option: str) -> list[int] | None:
    """``"350,1000"`` -> [350, 1000]; a one-line InputError for anything else."""
    if not text:
        return None
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise InputError(f"{option} must be comma-separated whole numbers, got {text!r}") from None
    if any(v < 4 for v in values):
        raise InputError(f"{option} values must be at least 4, got {text!r}")
    return values


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


@click.command("groups")
@click.option("--dataset", default="dices350", show_default=True, help="bundled name or data file")
@click.option("--ratings", "ratings", multiple=True, required=True, help="machine-rater file; repeatable")
@click.option("--by", default=",".join(DEFAULT_BY), show_default=True, help="comma-separated rater attribute columns")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="output folder")
@click.option("--bootstrap", "n_boot", default=1000, show_default=True, type=click.IntRange(min=0), help="bootstrap replicates")
@click.option("--permutations", "n_perm", default=1000, show_default=True, type=click.IntRange(min=0), help="permutations")
@click.option("--seed", default=0, show_default=True, type=int, help="random seed")
@click.option("--min-group-size", default=2, show_default=True, type=click.IntRange(min=2), help="smaller groups are left out")
@click.option("--missing-attr", default="unknown", show_default=True, type=click.Choice(MISSING_MODES), help="raters with a missing attribute")
@click.option("--power-items", default="350,1000,3000,10000", show_default=True, help="item counts for the power table ('' to skip)")
@click.option("--power-raters", default=None, help="raters per group for extra power rows, e.g. 5,10,20")
@click.option("--power-sims", default=1000, show_default=True, type=click.IntRange(min=50), help="simulated data sets per power point")
@click.option("--raters", "rater_filter", default="all", show_default=True, type=click.Choice(["all", "dices-kept"]), help="rater filter")
def groups(
    dataset: str,
    ratings: tuple[str, ...],
    by: str,
    out: str,
    n_boot: int,
    n_perm: int,
    seed: int,
    min_group_size: int,
    missing_attr: str,
    power_items: str,
    power_raters: str | None,
    power_sims: int,
    rater_filter: str,
) -> None:
    """Alignment of each machine rater with each demographic group, disparities, power and within-group spread."""
    messages: list[str] = []
    with collect_warnings(messages, lambda m: click.echo(f"warning: {m}", err=True)):
        data = load_dataset(dataset).filter_raters(rater_filter)
        machines = load_machine_ratings(list(ratings), data)
        result = analyze_groups(
            data,
            machines,
            by,
            n_boot=n_boot,
            seed=seed,
            min_group_size=min_group_size,
            missing_attr=missing_attr,
            n_perm=n_perm,
            power_items=parse_int_list(power_items, "--power-items"),
            power_raters=parse_int_list(power_raters, "--power-raters"),
            power_sims=power_sims,
        )
    results = {"dataset": data.describe(), "machines": machines.summary(), "rq2": result.to_dict(), "warnings": messages}
    path = write_outputs(out, results, {f"rq2_{k}": v for k, v in result.tables().items()})
    if result.power is not None and len(result.power):
        for machine in result.per_group["machine"].unique():
            plot_power(result.power, Path(out) / f"rq2_power_{_safe(machine)}.png", machine=machine)
    for line in summary_lines(result):
        click.echo(line)
    click.echo(f"results: {path}")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name))
