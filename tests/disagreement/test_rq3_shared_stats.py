"""RQ3's reliability is RQ2's estimator; its gradients, adjusted p-values and chance intervals against plain computations."""

from __future__ import annotations

import numpy as np
import pytest

from annalign.analyses.disagreement_inference import chance_intervals
from annalign.analyses.group_disagreement import analyze_disagreement
from annalign.stats.crossed import (
    contrast_design,
    contrast_gradients,
    contrast_reliability_from_sums,
    item_terms,
    rater_block,
    reliability_design,
    reliability_from_sums,
)
from annalign.stats.ranks import mann_whitney_u


def _block(ratings: np.ndarray):
    """A RaterBlock from a dense items x raters array (NaN = missing)."""
    mask = np.isfinite(ratings).astype(float)
    return rater_block(np.nan_to_num(ratings), mask)


def _ratings(rng: np.random.Generator, n_items: int, k: int, missing: float = 0.2) -> np.ndarray:
    out = np.round(rng.normal(0, 1, (n_items, 1)) + rng.normal(0, 1, (n_items, k)) + rng.normal(0, 0.3, k), 1)
    out[rng.random(out.shape) < missing] = np.nan
    return out


def _terms(block, weights=None):
    return item_terms(block, np.ones((1, block.n_raters)) if weights is None else weights[None, :])


def _plain_reliability(a: np.ndarray, b: np.ndarray) -> float:
    """Closed form with loops: 1 - sum over sides of s2 x mean(1 / n_i) over items with d, / var(d)."""
    d = np.nanmean(a, axis=1) - np.nanmean(b, axis=1)
    items = np.flatnonzero(np.isfinite(d))
    noise = 0.0
    for side in (a, b):
        centred = side - np.nanmean(side, axis=0)
        within = [np.var(row[np.isfinite(row)], ddof=1) for row in centred if np.isfinite(row).sum() >= 2]
        noise += np.mean(within) * np.mean([1 / np.isfinite(side[i]).sum() for i in items])
    return float(1 - noise / np.var(d[items]))


def test_contrast_reliability_matches_the_closed_form_on_small_data():
    rng = np.random.default_rng(4)
    for k_a, k_b in ((5, 4), (3, 7), (2, 2)):
        a, b = _ratings(rng, 30, k_a), _ratings(rng, 30, k_b)
        design = contrast_design(_terms(_block(a)), _terms(_block(b)))
        assert contrast_reliability_from_sums(design.sum(axis=0)) == pytest.approx(_plain_reliability(a, b), abs=1e-12)


def test_a_constant_side_gives_rq2s_group_reliability_and_cronbachs_alpha():
    """One estimator: d = mean_A - 0 has exactly RQ2's reliability of mean_A; with complete data that is alpha."""
    rng = np.random.default_rng(5)
    a = _ratings(rng, 40, 6, missing=0.0)
    zero = _block(np.zeros((40, 3)))
    ours = contrast_reliability_from_sums(contrast_design(_terms(_block(a)), _terms(zero)).sum(axis=0))
    rq2 = reliability_from_sums(reliability_design(_terms(_block(a))).sum(axis=0))
    k = a.shape[1]
    alpha = k / (k - 1) * (1 - a.var(axis=0, ddof=1).sum() / a.sum(axis=1).var(ddof=1))
    assert ours == pytest.approx(float(rq2), abs=1e-12)
    assert ours == pytest.approx(alpha, abs=1e-12)


def _stats_at(a_block, b_block, x: np.ndarray, wa: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """r of x with d and the reliability of d, recomputed from every item's weighted terms (no per-rating shortcut)."""
    design = contrast_design(_terms(a_block, wa), _terms(b_block, wb))
    rel = contrast_reliability_from_sums(design.sum(axis=0))
    has, d = design[:, 0] > 0, design[:, 1]
    return np.array([np.corrcoef(x[has], d[has])[0, 1], rel])


def test_contrast_gradients_match_recomputing_every_item():
    rng = np.random.default_rng(6)
    a, b = _ratings(rng, 25, 4), _ratings(rng, 25, 5)
    x = rng.normal(0, 1, (25, 1))
    ab, bb = _block(a), _block(b)
    grads = contrast_gradients(ab, bb, x, np.ones_like(x), np.ones((1, 25)))[0]
    h = 1e-5
    for j in range(9):
        wa, wb = np.ones(4), np.ones(5)
        w = wa if j < 4 else wb
        w[j % 4 if j < 4 else j - 4] += h
        up = _stats_at(ab, bb, x[:, 0], wa, wb)
        w[j % 4 if j < 4 else j - 4] -= 2 * h
        down = _stats_at(ab, bb, x[:, 0], wa, wb)
        np.testing.assert_allclose(grads[j], (up - down) / (2 * h), rtol=1e-4, atol=1e-7)


def _holm_by_hand(p: list[float]) -> list[float]:
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def _bh_by_hand(p: list[float]) -> list[float]:
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 1.0
    for rank in range(len(p) - 1, -1, -1):
        i = order[rank]
        running = min(running, p[i] * len(p) / (rank + 1))
        out[i] = running
    return out


def test_holm_and_bh_over_every_pair_and_predictor(dices350):
    rng = np.random.default_rng(8)
    baseline = {"m1": rng.normal(0, 1, dices350.n_items), "m2": rng.normal(0, 1, dices350.n_items)}
    res = analyze_disagreement(dices350, baseline=baseline, n_boot=200, n_perm=200, resample="items")
    frame = res.to_frame()
    assert len(frame) == 2 * len(res.pairs)
    for raw, adjusted in (("p_value", "p_adjusted"), ("p_boot", "p_boot")):
        p = frame[raw].tolist()
        np.testing.assert_allclose(frame[f"{adjusted}_holm"], _holm_by_hand(p), atol=1e-15)
        np.testing.assert_allclose(frame[f"{adjusted}_bh"], _bh_by_hand(p), atol=1e-15)
    assert (frame["generalises_to"] == "items (conditional on these raters)").all()


def test_chance_intervals_are_the_permutation_distribution_by_a_plain_loop():
    rng = np.random.default_rng(9)
    pred, d = rng.normal(0, 1, 40), rng.normal(0.3, 1, 40)
    pred[3] = 0.0
    got = chance_intervals(pred, d, 0.0, 400, 1, 0.95)
    perm_rng = np.random.default_rng([1, 11, 40])
    order = perm_rng.permuted(np.tile(np.arange(40), (400, 1)), axis=1)
    acc, auc = [], []
    for row in order:
        pos = (d > 0)[row]
        acc.append(np.mean([0.5 if x == 0 else float((x > 0) == s) for x, s in zip(pred, pos, strict=True)]))
        auc.append(mann_whitney_u(pred[pos], pred[~pos]) / (pos.sum() * (~pos).sum()))
    expected = (*np.quantile(acc, [0.025, 0.975]), *np.quantile(auc, [0.025, 0.975]))
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got[2] < 0.5 < got[3]


def test_unbalanced_signs_move_chance_accuracy_away_from_one_half():
    """A prediction that is always positive scores the share of positive d whatever it knows: chance is not 0.5."""
    d = np.r_[np.ones(30), -np.ones(10)]
    low, high, *_ = chance_intervals(np.ones(40), d, 0.0, 200, 0, 0.95)
    assert low == high == pytest.approx(0.75)


def test_sparse_per_rater_sums_equal_the_dense_ones(monkeypatch):
    """Large blocks take the sparse path; it must give the dense path's gradients (sparse blocks too)."""
    from scipy import sparse

    import annalign.stats.crossed as crossed

    rng = np.random.default_rng(10)
    a, b = _ratings(rng, 40, 5, missing=0.4), _ratings(rng, 40, 6, missing=0.4)
    x = rng.normal(0, 1, (40, 2))
    u = np.vstack([np.ones(40), (rng.random(40) < 0.5).astype(float)])
    dense = contrast_gradients(_block(a), _block(b), x, np.ones_like(x), u)
    monkeypatch.setattr(crossed, "DENSE_PER_RATER", 0)
    as_sparse = [rater_block(sparse.csr_matrix(np.nan_to_num(m)), sparse.csr_matrix(np.isfinite(m).astype(float))) for m in (a, b)]
    np.testing.assert_allclose(contrast_gradients(*as_sparse, x, np.ones_like(x), u), dense, rtol=1e-8, atol=1e-10)
