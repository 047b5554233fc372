"""Krippendorff's alpha against the krippendorff package and a plain loop over pairs, on dense and sparse data."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from annalign.stats.agreement import LEVELS, alpha, unit_terms


def plain_alpha(table: np.ndarray, level: str) -> float:
    """Krippendorff (2011) step by step: pairable values, every ordered pair within an item over m_u - 1, the metric."""
    values = np.unique(table[np.isfinite(table)])
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for column in table.T:  # items
        present = column[np.isfinite(column)]
        if len(present) < 2:
            continue
        for a, b in permutations(range(len(present)), 2):
            o[index[present[a]], index[present[b]]] += 1.0 / (len(present) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()

    def delta(c: int, k: int) -> float:
        if level == "nominal":
            return float(c != k)
        if level == "interval":
            return float((values[c] - values[k]) ** 2)
        lo, hi = min(c, k), max(c, k)
        return float((sum(n_c[g] for g in range(lo, hi + 1)) - (n_c[c] + n_c[k]) / 2) ** 2)

    pairs = [(c, k) for c in range(len(values)) for k in range(len(values))]
    observed = sum(o[c, k] * delta(c, k) for c, k in pairs)
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c, k in pairs)
    return 1.0 - (n - 1) * observed / expected


def _table(rng: np.random.Generator, raters: int, items: int, missing: float, categories: int) -> np.ndarray:
    """raters x items, a shared truth plus rater leniency and noise, cut into categories, with missing cells."""
    truth = rng.normal(size=items)
    latent = truth[None, :] + rng.normal(0, 0.5, (raters, 1)) + rng.normal(0, 0.8, (raters, items))
    table = np.digitize(latent, np.linspace(-1.5, 1.5, categories - 1)).astype(float) + 1
    table[rng.random(table.shape) < missing] = np.nan
    return table


def _ours(table: np.ndarray, level: str) -> float:
    rater, item = np.nonzero(np.isfinite(table))
    return float(alpha(unit_terms(item, table[rater, item], table.shape[1]), level)[0])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("raters", "items", "missing", "categories"), [(6, 40, 0.0, 3), (12, 80, 0.7, 5), (30, 25, 0.9, 4)])
def test_alpha_equals_the_krippendorff_package_and_a_plain_loop(level, raters, items, missing, categories) -> None:
    import krippendorff

    table = _table(np.random.default_rng(raters * 7 + items), raters, items, missing, categories)
    ours = _ours(table, level)
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=table, level_of_measurement=level), abs=1e-9)
    assert ours == pytest.approx(plain_alpha(table, level), abs=1e-9)


def test_interval_alpha_from_sums_equals_the_coincidence_form_and_takes_continuous_values() -> None:
    table = _table(np.random.default_rng(3), 8, 60, 0.3, 5)
    rater, item = np.nonzero(np.isfinite(table))
    terms = unit_terms(item, table[rater, item], 60)
    from annalign.stats.agreement import alpha_from_coincidences

    assert alpha(terms, "interval")[0] == pytest.approx(float(alpha_from_coincidences(terms.coincidence.sum(axis=0), terms.values, "interval")), abs=1e-12)
    noisy = table + np.random.default_rng(4).normal(0, 0.01, table.shape)  # 400 distinct values: no categories
    import krippendorff

    assert _ours(noisy, "interval") == pytest.approx(krippendorff.alpha(reliability_data=noisy, level_of_measurement="interval"), abs=1e-9)
    assert np.isnan(_ours(noisy, "nominal"))


def test_bootstrap_weights_equal_stacking_the_resampled_items() -> None:
    """Item weights of 2 and 0 give the alpha of the data with that item twice and that one left out."""
    table = _table(np.random.default_rng(5), 7, 30, 0.2, 3)
    rng = np.random.default_rng(6)
    draw = rng.integers(0, 30, 30)
    weights = np.bincount(draw, minlength=30)[None, :].astype(float)
    rater, item = np.nonzero(np.isfinite(table))
    terms = unit_terms(item, table[rater, item], 30)
    for level in LEVELS:
        assert alpha(terms, level, weights)[0] == pytest.approx(plain_alpha(table[:, draw], level), abs=1e-9)
