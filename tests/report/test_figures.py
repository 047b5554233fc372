"""report.figures: one function per figure, each taking a result (or the RunResult) and ax=, drawing on it and returning it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from annalign.errors import InputError
from annalign.report import figures
from annalign.report.figures import new_figure, png_bytes


def axes():
    return new_figure(7, 4).add_subplot()


def test_importing_the_figures_does_not_import_matplotlib():
    code = "import sys, annalign.report.figures, annalign.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_alignment_marks_every_machine_on_the_human_histogram(dices):
    ax = axes()
    assert figures.plot_alignment(dices.rq1, ax=ax) is ax
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == np.isfinite(dices.rq1.human_r).sum() == 122
    vertical = [line.get_xdata()[0] for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
    for m in dices.rq1.machines:
        assert any(abs(x - m.r) < 1e-12 for x in vertical), m.name
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("dices350-judge-b: r = 0.67") for t in legend)


def test_the_whole_run_is_accepted_too(dices):
    a, b = axes(), axes()
    figures.plot_alignment(dices, ax=a)
    figures.plot_alignment(dices.rq1, ax=b)
    assert [t.get_text() for t in a.get_legend().get_texts()] == [t.get_text() for t in b.get_legend().get_texts()]


def test_plot_group_alignment_one_row_per_group(dices):
    rq2 = dices.rq2["rater_age"]
    ax = figures.plot_group_alignment(rq2, ax=axes())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{g} (n = {n})" for g, n in zip(rq2.groups["group"], rq2.groups["n_raters"], strict=True)]
    one = figures.plot_group_alignment(rq2, machine="dices350-judge-a", ax=axes())
    assert len(one.get_legend().get_texts()) == 2  # r and adjusted r of one machine


def test_plot_group_raters_and_power_take_a_machine(dices):
    rq2 = dices.rq2["rater_race+rater_gender"]
    strip = figures.plot_group_raters(rq2, machine="dices350-judge-b", ax=axes())
    assert strip.get_title() == "dices350-judge-b"
    assert len(strip.collections[0].get_offsets()) == int(np.isfinite(rq2.rater_r.query("machine == 'dices350-judge-b'")["r"]).sum())
    power = figures.plot_power(dices, machine="dices350-judge-b", ax=axes())
    assert "dices350-judge-b" in power.get_title() and "median over 45 pairs" in power.get_title()
    rq2_power = rq2.power[rq2.power["machine"] == "dices350-judge-b"]
    n_diffs = sum(c.startswith("power_diff_") for c in rq2_power.columns)
    n_levels = rq2_power["raters_per_group"].astype(str).nunique()
    assert len(power.get_lines()) == n_diffs * n_levels + 1  # one per true difference and raters level, and the 80% line
    first = power.get_lines()[0].get_ydata()
    expected = rq2_power[rq2_power["raters_per_group"].astype(str) == "observed"].groupby("n_items")["power_diff_0.05"].median()
    assert np.allclose(first, expected.to_numpy())
    with pytest.raises(InputError, match="'nobody' is not in this result"):
        figures.plot_power(rq2, machine="nobody", ax=axes())


def test_plot_disagreement_and_its_items(dices):
    ax = figures.plot_disagreement(dices.rq3, ax=axes())
    assert len(ax.get_yticklabels()) == len(dices.rq3.pairs)
    first = dices.rq3.pairs[0]
    scatter = figures.plot_disagreement_items(dices, pair=f"{first.a} vs {first.b}", prediction="dices350-judge-b", ax=axes())
    assert len(scatter.collections[0].get_offsets()) == np.isfinite(first.difference).sum()
    with pytest.raises(InputError, match="pair 'x vs y' is not in this RQ3 result"):
        figures.plot_disagreement_items(dices, pair="x vs y", ax=axes())


def test_without_ax_a_new_figure_is_made(dices):
    import matplotlib.pyplot as plt

    ax = figures.plot_alignment(dices)
    try:
        assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
        assert png_bytes(ax.figure)[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close(ax.figure)
