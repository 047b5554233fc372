"""Distributional alignment: label distributions per item, divergences, item-bootstrap intervals, noise ceiling, k*.

Every divergence takes two arrays of distributions over the same labels on the last axis and
broadcasts over the others, so items, draws, models and groups are one array operation:
- Jensen-Shannon divergence in bits (base 2, in [0, 1]): ``jensenshannon(p, q, base=2) ** 2``;
- total variation, half the L1 distance (in [0, 1]);
- Wasserstein-1 on the ordered labels: the area between the two cumulative distributions over the
  label positions (0..L-1, or the rating map's values);
- log loss: the cross-entropy in bits of the human labels under the model's distribution, a model
  probability below ``LOG_LOSS_FLOOR`` counted as the floor (a zero would cost infinitely much);
- entropy in bits. A label with probability 0 contributes exactly 0 (0 log 0 = 0).

Noise ceiling. A crowd of n raters is itself a noisy estimate of the item's distribution, so even
the true distribution is at a divergence from it. Two random halves of a and b raters are at
E D(A, B) ~ c (1/a + 1/b) for a divergence that is locally quadratic (JSD) and ~ c sqrt(1/a + 1/b)
for one that is locally absolute (TV, Wasserstein), to first order in the sampling noise. The
ceiling is the split-half divergence stepped to one distribution against all n raters,
split x (ab / n^2) ** CEILING_EXPONENT[name]: what a model that knows the true distribution scores.

Human equivalence. The pooled labels of k random raters against the other n - k are at
f(k) ~ c/k + c/(n - k); a model with bias b is at g(k) ~ b + c/(n - k) from the same n - k raters.
k* is where the curves cross (c/k* = b): the number of humans whose pooled labels are as close
to the rest of the crowd as the model is. Comparing both with the same rests cancels the rests'
noise exactly, so a "model" that is the pooled labels of k other raters has k* = k in expectation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations

import numpy as np
from scipy import special

from annalign.stats.bootstrap import (
    CHUNK_ENTRIES,
    bootstrap_p,
    bootstrap_pearson,
    bootstrap_spearman,
    count_chunks,
)
from annalign.stats.correlation import correlation
from annalign.stats.intervals import intervals
from annalign.stats.multitest import holm
from annalign.stats.ranks import rankdata

#: A model probability below this counts as this in the log loss (log2(1e-6) = -19.9 bits).
LOG_LOSS_FLOOR = 1e-6
#: Power of the sample-size ratio that steps a split-half divergence up to the whole crowd (see module doc).
CEILING_EXPONENT = {"jsd": 1.0, "tv": 0.5, "wasserstein": 0.5}
#: Sub-streams of ``default_rng([seed, stream])`` for the random halves and the random k raters.
SPLIT_STREAM, CURVE_STREAM = 20, 21


# ----- label distributions ---------------------------------------------------------------------
def label_counts(
    item_index: np.ndarray, codes: np.ndarray, n_items: int, n_labels: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """(n_items, n_labels) (weighted) label counts per item; a code < 0 (missing rating) is left out."""
    item_index, codes = np.asarray(item_index, dtype=np.int64), np.asarray(codes, dtype=np.int64)
    keep = codes >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    flat = item_index[keep] * n_labels + codes[keep]
    return np.bincount(flat, weights=w, minlength=n_items * n_labels).astype(float).reshape(n_items, n_labels)


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts normalised to shares along the last axis; NaN where a row has no count."""
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.nan)


def human_distributions(
    item_index: np.ndarray, codes: np.ndarray, n_items: int, n_labels: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """(n_items, n_labels) share of each label among an item's (weighted) ratings; NaN rows for unrated items."""
    return shares(label_counts(item_index, codes, n_items, n_labels, weights))


@dataclass(frozen=True, eq=False)
class Crowd:
    """Human labels as codes 0..n_labels-1, one per rating, with each rating's item (missing codes dropped)."""

    item_index: np.ndarray
    codes: np.ndarray
    n_items: int
    n_labels: int

    def __post_init__(self) -> None:
        item, code = np.asarray(self.item_index, dtype=np.int64), np.asarray(self.codes, dtype=np.int64)
        if item.shape != code.shape:
            raise ValueError("item_index and codes must have the same length")
        keep = code >= 0
        if (code >= self.n_labels).any() or ((item < 0) | (item >= self.n_items)).any():
            raise ValueError("a code or item index lies outside 0..n_labels-1 or 0..n_items-1")
        object.__setattr__(self, "item_index", item[keep])
        object.__setattr__(self, "codes", code[keep])

    @cached_property
    def counts(self) -> np.ndarray:
        """(n_items, n_labels) label counts per item."""
        return label_counts(self.item_index, self.codes, self.n_items, self.n_labels)

    @cached_property
    def distributions(self) -> np.ndarray:
        """(n_items, n_labels) label shares per item (NaN rows for unrated items)."""
        return shares(self.counts)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Ratings per item."""
        return np.bincount(self.item_index, minlength=self.n_items)

    def subset(self, keep: np.ndarray) -> Crowd:
        """The crowd of the ratings where ``keep`` (bool per rating of this crowd) is true."""
        return Crowd(self.item_index[keep], self.codes[keep], self.n_items, self.n_labels)


def group_distributions(crowd: Crowd, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, n_items, n_labels) label shares of each group's ratings (group code per rating, -1 = none)."""
    groups = np.asarray(groups, dtype=np.int64)
    keep = groups >= 0
    stacked = groups[keep] * crowd.n_items + crowd.item_index[keep]
    counts = label_counts(stacked, crowd.codes[keep], n_groups * crowd.n_items, crowd.n_labels)
    return shares(counts.reshape(n_groups, crowd.n_items, crowd.n_labels))


# ----- divergences (last axis = labels, broadcasting over the rest) -----------------------------
def entropy(p: np.ndarray, base: float = 2.0) -> np.ndarray:
    """Shannon entropy along the last axis (bits by default), 0 log 0 = 0: ``scipy.stats.entropy(p, base=base)``."""
    return -special.xlogy(p, p).sum(axis=-1) / np.log(base)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits: ``scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2`` (0, not scipy's NaN, for p ~ q)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    m = (p + q) / 2.0
    js = special.rel_entr(p, m).sum(axis=-1) + special.rel_entr(q, m).sum(axis=-1)
    return np.clip(js / (2.0 * np.log(2.0)), 0.0, 1.0)  # rounding can leave [0, 1] by 1 ulp


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total variation distance, half the L1 distance between the distributions (at most 1)."""
    return np.minimum(0.5 * np.abs(np.asarray(p, dtype=float) - np.asarray(q, dtype=float)).sum(axis=-1), 1.0)


def wasserstein(p: np.ndarray, q: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
    """Wasserstein-1 distance on the label positions (0..L-1 by default): ``scipy.stats.wasserstein_distance``."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    n_labels = p.shape[-1]
    x = np.arange(n_labels, dtype=float) if positions is None else np.asarray(positions, dtype=float)
    order = np.argsort(x, kind="stable")
    gaps = np.diff(x[order])
    cdf_gap = np.cumsum(p[..., order] - q[..., order], axis=-1)[..., :-1]
    return (np.abs(cdf_gap) * gaps).sum(axis=-1)


def log_loss(human: np.ndarray, model: np.ndarray, eps: float = LOG_LOSS_FLOOR, base: float = 2.0) -> np.ndarray:
    """Cross-entropy of the human label shares under the model's distribution (bits), model probabilities floored at eps."""
    floored = np.maximum(np.asarray(model, dtype=float), eps)
    return -special.xlogy(np.asarray(human, dtype=float), floored).sum(axis=-1) / np.log(base)


@dataclass(frozen=True, eq=False)
class Metric:
    """A divergence by name ("jsd", "tv", "wasserstein") with the label positions Wasserstein uses."""

    name: str = "jsd"
    positions: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        if self.name not in CEILING_EXPONENT:
            raise ValueError(f"unknown divergence {self.name!r}; use one of {', '.join(CEILING_EXPONENT)}")

    def __call__(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The divergence between p and q along the last axis."""
        if self.name == "jsd":
            return jensen_shannon(p, q)
        if self.name == "tv":
            return total_variation(p, q)
        return wasserstein(p, q, self.positions)


# ----- aggregates with item-bootstrap intervals -------------------------------------------------
@dataclass(frozen=True, eq=False)
class Estimate:
    """Point estimates with percentile intervals and their bootstrap replicates (and p-values for differences)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    replicates: np.ndarray
    p: np.ndarray | None = None


def with_rater_part(est: Estimate, part: np.ndarray | None, level: float) -> Estimate:
    """The estimate with a rater part (n_boot, m) added to its item-bootstrap replicates, intervals (and p) recomputed."""
    if part is None:
        return est
    reps = est.replicates + part
    low, high = intervals(reps, level)
    return Estimate(est.estimate, low, high, reps, None if est.p is None else bootstrap_p(reps))


def _columns(values: np.ndarray) -> np.ndarray:
    """A per-item vector or matrix as an (n_items, m) float matrix."""
    values = np.asarray(values, dtype=float)
    return values[:, None] if values.ndim == 1 else values


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Item-bootstrap replicates (n_boot, m) of each column's mean over items, NaN items left out of that column."""
    v = _columns(values)
    valid = np.isfinite(v)
    design = np.concatenate([np.where(valid, v, 0.0), valid.astype(float)], axis=1)
    m = v.shape[1]
    out = np.empty((n_boot, m))
    for sl, counts in count_chunks(v.shape[0], n_boot, seed):
        sums = counts @ design
        out[sl] = _ratio(sums[:, :m], sums[:, m:])
    return out


def _means(values: np.ndarray) -> np.ndarray:
    """Each column's mean over its finite items."""
    v = _columns(values)
    valid = np.isfinite(v)
    return _ratio(np.where(valid, v, 0.0).sum(axis=0), valid.sum(axis=0).astype(float))


def mean_ci(values: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> Estimate:
    """Mean over items of each column of per-item values with its item-bootstrap percentile interval."""
    reps = bootstrap_means(values, n_boot, seed)
    low, high = intervals(reps, level)
    return Estimate(_means(values), low, high, reps)


def paired_difference(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> Estimate:
    """Mean over items of a - b (items where both are defined) with its paired interval and bootstrap p (null 0)."""
    est = mean_ci(_columns(a) - _columns(b), n_boot, seed, level)
    return Estimate(est.estimate, est.low, est.high, est.replicates, bootstrap_p(est.replicates))


#: Beyond this many items the Spearman bootstrap keeps the items' ranks (Pearson of ranks on each resample)
#: instead of re-ranking every resample: O(n) per replicate instead of O(n log n), a difference of order 1/n.
RERANK_MAX_ITEMS = 20_000


def entropy_tracking(model: np.ndarray, human: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> Estimate:
    """Spearman rho across items of the model's entropy with the humans' (does its uncertainty track disagreement)."""
    x, y = entropy(model), entropy(human)
    if np.isfinite(x + y).sum() > RERANK_MAX_ITEMS:
        ok = np.isfinite(x + y)
        reps = bootstrap_pearson(rankdata(x[ok]), rankdata(y[ok]), n_boot, seed)
    else:
        reps = bootstrap_spearman(x, y, n_boot, seed)[:, None]
    low, high = intervals(reps, level)
    return Estimate(np.array([correlation(x, y, "spearman")]), low, high, reps)


# ----- noise ceiling: split halves and the k curve ----------------------------------------------
def _within_item_ranks(crowd: Crowd, keys: np.ndarray) -> np.ndarray:
    """Rank 0..n_i-1 of each rating within its item by random keys (R, n_ratings): a random order per item and draw.

    Where items are of similar size the keys are laid out as (R, n_items, largest item) with +inf padding and
    sorted along the last axis (many short sorts); otherwise one sort of item + key over all ratings. Both
    give the same ranks for the same keys.
    """
    width = int(crowd.sizes.max()) if crowd.n_items else 0
    if crowd.n_items * width <= 2 * len(crowd.codes) + 1024:
        slot = _slots(crowd)
        grid = np.full((keys.shape[0], crowd.n_items, width), np.inf)
        grid[:, crowd.item_index, slot] = keys
        order = np.argsort(grid, axis=2)
        ranked = np.empty(grid.shape, dtype=np.int64)
        np.put_along_axis(ranked, order, np.broadcast_to(np.arange(width), grid.shape), axis=2)
        return ranked[:, crowd.item_index, slot]
    order = np.argsort(crowd.item_index[None, :] + keys, axis=1)  # keys in [0, 1): sorts by item, then key
    item_sorted = np.sort(crowd.item_index)
    start = np.concatenate([[0], np.cumsum(crowd.sizes)[:-1]])
    rank_sorted = np.broadcast_to(np.arange(len(item_sorted)) - start[item_sorted], keys.shape)
    ranks = np.empty(keys.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, rank_sorted, axis=1)
    return ranks


def _slots(crowd: Crowd) -> np.ndarray:
    """Each rating's position 0..n_i-1 among its item's ratings, in the order they are stored."""
    order = np.argsort(crowd.item_index, kind="stable")
    start = np.concatenate([[0], np.cumsum(crowd.sizes)[:-1]])
    slot = np.empty(len(order), dtype=np.int64)
    slot[order] = np.arange(len(order)) - start[crowd.item_index[order]]
    return slot


def _draw_chunks(n_draws: int, per_draw: int, rng: np.random.Generator, n_ratings: int) -> Iterator[np.ndarray]:
    """Random keys (r, n_ratings) for n_draws draws in chunks whose work arrays stay under CHUNK_ENTRIES."""
    per_chunk = max(1, min(n_draws, CHUNK_ENTRIES // max(per_draw, 1)))
    for start in range(0, n_draws, per_chunk):
        yield rng.random((min(per_chunk, n_draws - start), n_ratings))


@dataclass(frozen=True, eq=False)
class SplitHalf:
    """Per-item divergence between two random halves of the raters (mean over splits) and the ceiling it implies."""

    split: np.ndarray
    ceiling: np.ndarray


def split_half(crowd: Crowd, n_splits: int = 100, seed: int = 0, metric: Metric | None = None) -> SplitHalf:
    """Split-half divergence per item (halves of floor(n/2) and ceil(n/2) raters) and the whole-crowd ceiling."""
    metric = metric or Metric()
    n, n_labels = crowd.n_items, crowd.n_labels
    a = crowd.sizes // 2
    b = crowd.sizes - a
    total = np.zeros(n)
    rng = np.random.default_rng([seed, SPLIT_STREAM])
    for keys in _draw_chunks(n_splits, 2 * n * n_labels + len(crowd.codes), rng, len(crowd.codes)):
        r = keys.shape[0]
        half = (_within_item_ranks(crowd, keys) >= a[crowd.item_index]).astype(np.int64)
        cell = ((np.arange(r)[:, None] * n + crowd.item_index) * 2 + half) * n_labels + crowd.codes
        counts = np.bincount(cell.ravel(), minlength=r * n * 2 * n_labels).reshape(r, n, 2, n_labels)
        total += metric(shares(counts[:, :, 0]), shares(counts[:, :, 1])).sum(axis=0)
    split = np.where(a > 0, total / max(n_splits, 1), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        step = (a * b / crowd.sizes.astype(float) ** 2) ** CEILING_EXPONENT[metric.name]
    return SplitHalf(split, split * step)


@dataclass(frozen=True, eq=False)
class KCurve:
    """Per-item divergence of k random raters' pooled labels to the other raters, k = 1..K (NaN where none remain).

    ``model`` holds each model's divergence to the same other raters, (n_models, n_items, K).
    """

    ks: np.ndarray
    human: np.ndarray
    model: np.ndarray | None


def _curve_chunk(crowd: Crowd, keys: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Pooled shares of the first k raters and shares of the rest, (r, n_items, k_max, n_labels) each."""
    r, n, n_labels = keys.shape[0], crowd.n_items, crowd.n_labels
    ranks = _within_item_ranks(crowd, keys)
    inside = ranks < k_max
    rows = np.broadcast_to(np.arange(r)[:, None], ranks.shape)[inside]
    items = np.broadcast_to(crowd.item_index, ranks.shape)[inside]
    labels = np.broadcast_to(crowd.codes, ranks.shape)[inside]
    table = np.zeros((r, n, k_max, n_labels))
    table[rows, items, ranks[inside], labels] = 1.0
    pooled = np.cumsum(table, axis=2)
    ks = np.arange(1, k_max + 1, dtype=float)
    rest_size = crowd.sizes[:, None] - ks[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = (crowd.counts[None, :, None, :] - pooled) / np.where(rest_size > 0, rest_size, np.nan)[None, :, :, None]
    return pooled / ks[None, None, :, None], rest


def k_curve(
    crowd: Crowd, models: np.ndarray | None = None, k_max: int | None = None, n_draws: int = 50, seed: int = 0,
    metric: Metric | None = None,
) -> KCurve:
    """Per-item k curve (mean over random draws of k raters per item) and, for (n_models, n_items, L) models, their matched curves."""
    metric = metric or Metric()
    k_max = int(crowd.sizes.max()) - 1 if k_max is None else int(k_max)
    if k_max < 1:
        raise ValueError("a k curve needs an item with at least two ratings")
    q = None if models is None else np.asarray(models, dtype=float).reshape(-1, crowd.n_items, crowd.n_labels)
    m = 0 if q is None else q.shape[0]
    human = np.zeros((crowd.n_items, k_max))
    model = np.zeros((m, crowd.n_items, k_max))
    rng = np.random.default_rng([seed, CURVE_STREAM])
    for keys in _draw_chunks(n_draws, 2 * (m + 1) * crowd.n_items * k_max * crowd.n_labels, rng, len(crowd.codes)):
        pooled, rest = _curve_chunk(crowd, keys, k_max)
        human += metric(pooled, rest).sum(axis=0)
        if q is not None:
            model += metric(q[:, None, :, None, :], rest[None]).sum(axis=1)
    return KCurve(np.arange(1, k_max + 1), human / n_draws, None if q is None else model / n_draws)


def human_equivalence(model_divergence: float | np.ndarray, curve: np.ndarray, ks: np.ndarray | None = None) -> np.ndarray:
    """k*: where the human k curve (..., K) falls to the model's divergence, interpolated linearly in 1/k.

    Below k = 1 (the model is farther than one human) the line through k = 1 and 2 is extended
    (0 if it does not fall); a model closer than all K humans gets inf. NaN where the curve is undefined at k = 1.
    """
    curve = np.asarray(curve, dtype=float)
    ks = np.arange(1, curve.shape[-1] + 1, dtype=float) if ks is None else np.asarray(ks, dtype=float)
    gap = curve - np.asarray(model_divergence, dtype=float)
    x = 1.0 / ks
    closer = gap <= 0  # k pooled humans at least as close as the model
    first = np.argmax(closer, axis=-1)
    found = closer.any(axis=-1)
    j = np.clip(first - 1, 0, None)
    j1 = np.where(first == 0, 1, first) if len(ks) > 1 else first
    g0, g1 = np.take_along_axis(gap, j[..., None], -1)[..., 0], np.take_along_axis(gap, j1[..., None], -1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        x_star = x[j] + (x[j1] - x[j]) * g0 / (g0 - g1)
        k_star = np.where(x_star > 0, 1.0 / x_star, 0.0)
    k_star = np.where(np.isnan(x_star), np.nan, k_star)
    k_star = np.where(found, k_star, np.inf)
    k_star = np.where(found & (first == 0) & (g0 < 0) & ~(g0 > g1), 0.0, k_star)  # farther than one human, no slope
    return np.where(np.isnan(gap[..., 0]), np.nan, k_star)


def _order_interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval from order statistics (replicates may be inf); NaN with fewer than 10 defined."""
    reps = replicates[~np.isnan(replicates)]
    if len(reps) < 10:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha], method="inverted_cdf")
    return float(lo), float(hi)


def k_star(curve: KCurve, which: int = 0, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Estimate:
    """k* of model ``which`` of a k curve with its item-bootstrap interval (both curves resampled together)."""
    if curve.model is None:
        raise ValueError("k* needs a k curve computed with models")
    human, model = curve.human, curve.model[which]
    both = np.isfinite(human) & np.isfinite(model)
    human, model = np.where(both, human, np.nan), np.where(both, model, np.nan)
    k = human.shape[1]
    reps = bootstrap_means(np.concatenate([human, model], axis=1), n_boot, seed)
    k_reps = human_equivalence(reps[:, k:], reps[:, :k], curve.ks)
    point = human_equivalence(_means(model), _means(human), curve.ks)
    low, high = _order_interval(k_reps, level)
    return Estimate(np.array([point]), np.array([low]), np.array([high]), k_reps[:, None])


# ----- groups ----------------------------------------------------------------------------------
def group_divergences(crowd: Crowd, groups: np.ndarray, n_groups: int, model: np.ndarray, metric: Metric | None = None) -> np.ndarray:
    """(n_items, n_groups) divergence of the model's distribution to each group's label distribution."""
    metric = metric or Metric()
    return metric(np.asarray(model, dtype=float)[None], group_distributions(crowd, groups, n_groups)).T


@dataclass(frozen=True, eq=False)
class GroupComparison:
    """Mean divergence to each group, the closest group, and pairwise differences (first minus second) with Holm p."""

    divergence: Estimate
    closest: int
    pairs: list[tuple[int, int]]
    differences: Estimate
    p_holm: np.ndarray


def compare_groups(
    per_item: np.ndarray, n_boot: int, seed: int, level: float = 0.95, rater_part: np.ndarray | None = None
) -> GroupComparison:
    """Means of (n_items, n_groups) per-item divergences, the closest group and all pairwise differences (paired replicates).

    ``rater_part`` (n_boot, n_groups), from annalign.stats.distributional_raters, makes the intervals crossed.
    """
    per_item = _columns(per_item)
    divergence = with_rater_part(mean_ci(per_item, n_boot, seed, level), rater_part, level)
    pairs = list(combinations(range(per_item.shape[1]), 2))
    first, second = (np.array([p[i] for p in pairs], dtype=np.int64) for i in (0, 1))
    differences = paired_difference(per_item[:, first], per_item[:, second], n_boot, seed, level)
    if rater_part is not None:
        differences = with_rater_part(differences, rater_part[:, first] - rater_part[:, second], level)
    closest = int(np.nanargmin(divergence.estimate)) if np.isfinite(divergence.estimate).any() else -1
    p_holm = holm(differences.p) if differences.p is not None else np.array([])
    return GroupComparison(divergence, closest, pairs, differences, p_holm)
