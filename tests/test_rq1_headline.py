"""RQ1's headline (machine r minus the median human leave-one-out r, and the percentile) with crossed intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from annalign.analyses.alignment import analyze_rq1, leave_one_out
from annalign.analyses.headline import human_loo_replicates
from annalign.stats.bootstrap import count_chunks, grouped_pearson_replicates
from annalign.testing.panels import CrossedModel, crossed_data, population_headline_and_percentile


def test_loo_replicates_match_a_plain_loop_over_resampled_items(dices350):
    """Replicate b of rater j: r of j's ratings with the others' mean over the resampled items (weights = counts)."""
    reps = human_loo_replicates(dices350, 20, 3)
    (_, counts), *_ = list(count_chunks(dices350.n_items, 20, 3))
    item, rater, x = dices350.item_index, dices350.rater_index, dices350.values
    others = (dices350.item_sum[item] - x) / (dices350.item_count[item] - 1)
    for j in (0, 57, 122):
        sel = rater == j
        for b in (0, 19):
            w = counts[b, item[sel]]
            expected = np.cov(x[sel], others[sel], aweights=w)[0, 1] / np.sqrt(
                np.cov(x[sel], aweights=w) * np.cov(others[sel], aweights=w))  # fmt: skip
            assert reps[b, j] == pytest.approx(expected, abs=1e-10)


def test_dense_and_sparse_designs_agree(monkeypatch):
    import annalign.stats.bootstrap as bootstrap

    rng = np.random.default_rng(0)
    group, item = rng.integers(0, 5, 400), rng.integers(0, 60, 400)
    a, b = rng.standard_normal(400), rng.standard_normal(400)
    dense = grouped_pearson_replicates(group, item, a, b, (5, 60), 30, 1)
    monkeypatch.setattr(bootstrap, "DENSE_DESIGN_CELLS", 0)
    assert np.allclose(grouped_pearson_replicates(group, item, a, b, (5, 60), 30, 1), dense, atol=1e-12)


def test_headline_numbers_and_percentile(dices350):
    x = dices350.item_mean + np.random.default_rng(1).normal(0, 0.2, dices350.n_items)
    from annalign.core.machines import MachineRatings

    machines = MachineRatings(names=["m"], scores=x[:, None], sources=["synthetic"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_rq1(dices350, machines, n_boot=300)
    entry = res.to_dict()["machines"]["m"]
    human_r, _ = leave_one_out(dices350)
    r = stats.pearsonr(x, dices350.item_mean).statistic
    assert entry["vs_median_human_difference"] == pytest.approx(r - np.nanmedian(human_r), abs=1e-12)
    assert entry["vs_median_human_ci_low"] < entry["vs_median_human_difference"] < entry["vs_median_human_ci_high"]
    assert entry["percentile_ci_low"] <= entry["percentile_among_humans"] <= entry["percentile_ci_high"]
    assert entry["vs_median_human_generalises_to"] == "items and raters"
    assert 2 / 301 <= entry["vs_median_human_p_value"] <= 1
    assert "minus the median human" in "\n".join(res.summary())


def _simulated_entries(model: CrossedModel, n_sets: int) -> list[dict]:
    """The machine's RQ1 entry (``analyze_rq1``, 500 replicates) on each of n_sets data sets of the model, seeds [21, s]."""
    entries = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(n_sets):
            data, machine = crossed_data(model, np.random.default_rng([21, s]))
            entries.append(analyze_rq1(data, machine, n_boot=500, seed=s).to_dict()["machines"]["machine"])
    return entries


def _percentile_coverage(entries: list[dict], truth_pct: float) -> float:
    """The share of entries whose percentile interval holds the true percentile."""
    return float(np.mean([e["percentile_ci_low"] <= truth_pct <= e["percentile_ci_high"] for e in entries]))


@pytest.mark.slow
def test_headline_and_percentile_intervals_cover_their_truth_through_analyze_rq1():
    """30 raters, DICES-like ratings (CrossedModel): coverage of r_machine - median human r and of the machine's
    percentile among the humans, at infinite items and raters.

    The truths come from four draws of 2,000 raters on 20,000 items (each rater's r with the crowd
    mean; Monte Carlo error about 0.004 and 1 point, a tenth of the intervals' half-widths).
    Measured: difference 96.2% (these 500 sets) and 95.0% (200 sets, 123 raters); percentile 94.6% (these
    500 sets; 95.4% before the replicates' humans were shrunk to their true spread, see the sparse test
    below). Without the machine's own rater part the percentile interval covered 91% (too narrow:
    which raters form the crowd moves the machine's r too).
    """
    model = CrossedModel(sizes=(30,))
    (truth, truth_pct), n_sets = population_headline_and_percentile(model), 500
    entries = _simulated_entries(model, n_sets)
    coverage = float(np.mean([e["vs_median_human_ci_low"] <= truth <= e["vs_median_human_ci_high"] for e in entries]))
    coverage_pct = _percentile_coverage(entries, truth_pct)
    print(f"headline coverage {coverage:.3f}, percentile coverage {coverage_pct:.3f} over {n_sets} sets")
    se = np.sqrt(0.95 * 0.05 / n_sets)
    assert 0.95 - 3 * se <= coverage <= 0.95 + 3 * se
    assert 0.95 - 3 * se <= coverage_pct <= 0.95 + 3 * se


@pytest.mark.slow
def test_percentile_interval_covers_when_item_noise_is_most_of_the_humans_spread():
    """Sparse ratings (70% missing) from raters who differ little: the humans' observed r scatter mostly by item noise.

    The percentile's target is the machine's place among the humans' true r (7.4 here). The observed
    percentile is pulled toward 50 by that noise (26 on average), and replicates that add the noise
    again covered the truth in 75% of 150 sets; with the replicates' humans shrunk to their true
    spread (``headline._deconvolved``) 99.0% of 300 (conservative: wide where the true spread is small).
    """
    model = CrossedModel(sizes=(30,), missing=0.7, loading_sd=0.1, second_sd=0.1, leniency_sd=0.2)
    (_, truth_pct), n_sets = population_headline_and_percentile(model), 300
    coverage = _percentile_coverage(_simulated_entries(model, n_sets), truth_pct)
    print(f"percentile coverage {coverage:.3f} over {n_sets} sets (truth {truth_pct:.1f})")
    assert truth_pct < 15  # the scenario is the hard one: a machine far below most humans' true r
    assert coverage >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / n_sets)


def test_item_only_scheme_drops_every_rater_part_and_says_so(dices350):
    """resample="items": the headline's replicates are the item bootstrap alone (narrower), labelled conditional on these raters."""
    from annalign.core.machines import MachineRatings
    from annalign.errors import InputError

    # a machine near the humans' middle: a percentile near 100 has both intervals against the bound
    x = dices350.item_mean + np.random.default_rng(2).normal(0, 0.35, dices350.n_items)
    machines = MachineRatings(names=["m"], scores=x[:, None], sources=["synthetic"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crossed = analyze_rq1(dices350, machines, n_boot=400).to_dict()["machines"]["m"]
        items = analyze_rq1(dices350, machines, n_boot=400, resample="items").to_dict()["machines"]["m"]
    assert crossed["vs_median_human_generalises_to"] == "items and raters"
    assert items["vs_median_human_generalises_to"] == "items (conditional on these raters)"
    assert items["vs_median_human_difference"] == crossed["vs_median_human_difference"]
    width = {k: e["vs_median_human_ci_high"] - e["vs_median_human_ci_low"] for k, e in (("c", crossed), ("i", items))}
    assert width["i"] < width["c"]
    assert items["percentile_ci_high"] - items["percentile_ci_low"] < crossed["percentile_ci_high"] - crossed["percentile_ci_low"]
    with pytest.raises(InputError, match="resample must be one of"):
        analyze_rq1(dices350, machines, n_boot=50, resample="raters")
