"""RQ3's uncertainty: paired replicates of every pair's reliability and every prediction's r, and chance intervals.

One set of item draws (``stats.bootstrap.count_chunks``: the same as every other analysis with the
seed) serves the reliability of every pair and the r of every prediction, so r / ceiling is
paired. Under ``resample="crossed"`` each replicate also gets each side's rater part, RQ2's
construction (``stats.crossed``): the infinitesimal jackknife of the statistic in each rater's
weight, cross-fitted on random item halves, its signal share pooled over the pair's two sides,
drawn as Gaussian multipliers (one per rater, shared by every pair and predictor) with a
t(raters - 1) spread, added on the Fisher-z scale for r and on the log(1 - rel) scale for the
reliability.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from annalign.core.annotations import Annotations
from annalign.core.grouping import Grouping
from annalign.core.operators import RaterMatrix
from annalign.stats.bootstrap import CHUNK_ENTRIES, bootstrap_pearson, count_chunks
from annalign.stats.crossed import (
    CONTRAST_COLUMNS,
    RaterBlock,
    contrast_crossfit,
    contrast_design,
    contrast_reliability_from_sums,
    item_terms,
    multiplier_draws,
    on_fisher_scale,
    on_reliability_scale,
    pooled_signal_share,
    rater_block,
    variance_spread,
)
from annalign.stats.ranks import rankdata


@dataclass(frozen=True)
class PairSides:
    """The raters of one comparison's two sides, as blocks, with their positions among the data's raters."""

    a: RaterBlock
    b: RaterBlock
    members_a: np.ndarray
    members_b: np.ndarray
    #: random streams of the sides' t spreads: a group's own (as in RQ2), n_groups + a for "the rest of a"
    stream_a: int
    stream_b: int


def pair_sides(data: Annotations, groups: Grouping, pairs: list[tuple[int, int]]) -> list[PairSides]:
    """Each (a, b) pair's sides (b = -1: every grouped rater not in a)."""
    rm = RaterMatrix.of(data)
    out = []
    for a, b in pairs:
        members_a = np.flatnonzero(groups.code == a)
        members_b = np.flatnonzero((groups.code >= 0) & (groups.code != a)) if b < 0 else np.flatnonzero(groups.code == b)
        blocks = [rater_block(part.vals, part.mask) for part in (rm.columns(members_a), rm.columns(members_b))]
        out.append(PairSides(blocks[0], blocks[1], members_a, members_b, a, groups.n_groups + a if b < 0 else b))
    return out


def pair_designs(sides: list[PairSides]) -> np.ndarray:
    """Items x (9 pairs): each pair's ``contrast_design`` side by side."""
    return np.concatenate(
        [contrast_design(item_terms(s.a, np.ones((1, s.a.n_raters))), item_terms(s.b, np.ones((1, s.b.n_raters)))) for s in sides],
        axis=1,
    )


def point_reliability(designs: np.ndarray) -> np.ndarray:
    """The reliability of each pair's d (pairs,), from the all-items sums of ``pair_designs``."""
    return contrast_reliability_from_sums(designs.sum(axis=0).reshape(-1, CONTRAST_COLUMNS))


@dataclass(frozen=True)
class Replicates:
    """Paired replicates: r per prediction column (n_boot, columns) and reliability per pair (n_boot, pairs)."""

    r: np.ndarray
    reliability: np.ndarray

    def ceiling(self) -> np.ndarray:
        """sqrt(reliability) per replicate; NaN where the reliability is <= 0 (no ceiling)."""
        rel = self.reliability
        with np.errstate(invalid="ignore"):
            return np.where(rel > 0, np.sqrt(np.where(rel > 0, rel, 1.0)), np.nan)

    def r_over_ceiling(self, pair_of_column: np.ndarray) -> np.ndarray:
        """r / ceiling per replicate and column (NaN where the pair's ceiling is undefined)."""
        return self.r / self.ceiling()[:, pair_of_column]


def item_replicates(x: np.ndarray, d: np.ndarray, designs: np.ndarray, n_boot: int, seed: int) -> Replicates:
    """The item bootstrap: r of each column pair of (items, columns) x and d, and each pair's reliability, same draws."""
    k = x.shape[1]
    boot_r = np.empty((n_boot, k))
    col_chunk = max(1, min(CHUNK_ENTRIES // max(n_boot * 6, 1), 4 * CHUNK_ENTRIES // max(x.shape[0] * 6, 1)))
    for c0 in range(0, k, col_chunk):
        sl = slice(c0, min(k, c0 + col_chunk))
        boot_r[:, sl] = bootstrap_pearson(x[:, sl], d[:, sl], n_boot, seed)
    n_pairs = designs.shape[1] // CONTRAST_COLUMNS
    boot_rel = np.empty((n_boot, n_pairs))
    for sl, counts in count_chunks(designs.shape[0], n_boot, seed):
        boot_rel[sl] = contrast_reliability_from_sums((counts @ designs).reshape(-1, n_pairs, CONTRAST_COLUMNS))
    return Replicates(boot_r, boot_rel)


@dataclass(frozen=True)
class RaterDraws:
    """What the rater parts are drawn with: replicates, cross-fit halves, seed and the number of raters in the data."""

    n_boot: int
    n_splits: int
    seed: int
    n_raters: int


def add_rater_parts(reps: Replicates, points: tuple[np.ndarray, np.ndarray], x: np.ndarray, pair_of_column: np.ndarray,
                    sides: list[PairSides], draws: RaterDraws) -> None:  # fmt: skip
    """Add each pair's two rater parts to the item replicates, in place: r on the Fisher-z scale, the reliability on
    the log(1 - rel) scale (``on_reliability_scale``); ``points`` are the estimates (r per column, reliability per pair)."""
    r, rel = points
    rng = np.random.default_rng([draws.seed, 12])
    multipliers = multiplier_draws(draws.n_boot, draws.n_raters, draws.seed)
    for j, side in enumerate(sides):
        cols = np.flatnonzero(pair_of_column == j)
        xj = x[:, cols]
        full, clean, total = contrast_crossfit(side.a, side.b, np.nan_to_num(xj), np.isfinite(xj).astype(float), draws.n_splits, rng)
        share = pooled_signal_share(clean, total, np.array([side.a.n_raters, side.b.n_raters]))
        influence = full * np.sqrt(share)[None, :]
        delta = np.zeros((draws.n_boot, len(cols) + 1))
        for members, stream, rows in ((side.members_a, side.stream_a, slice(0, side.a.n_raters)),
                                      (side.members_b, side.stream_b, slice(side.a.n_raters, None))):  # fmt: skip
            spread = variance_spread(draws.n_boot, len(members), draws.seed, stream)
            padded = np.zeros((draws.n_raters, len(cols) + 1))
            padded[members] = influence[rows]
            # rater_perturbation's k / (k - 1) x spread scale, with the side's own k; every rater's multiplier is
            # used in place (no copy of the multipliers' columns per side)
            k = len(members)
            delta += np.sqrt(k / max(k - 1, 1) * spread)[:, None] * (multipliers @ padded)
        reps.r[:, cols] = on_fisher_scale(reps.r[:, cols], delta[:, : len(cols)], r[cols])
        reps.reliability[:, j] = on_reliability_scale(reps.reliability[:, j : j + 1], delta[:, -1:], rel[j : j + 1])[:, 0]


@lru_cache(maxsize=8)
def _permutations(n_perm: int, n: int, seed: int) -> np.ndarray:
    """Random orders (n_perm, n) of n items from their own seeded stream; the predictions of one pair share them."""
    # A Fisher-Yates shuffle per row (O(n)), not an argsort of uniforms (O(n log n), 4-5x slower at 40,000 items)
    order = np.random.default_rng([seed, 11, n]).permuted(np.tile(np.arange(n, dtype=np.int32), (n_perm, 1)), axis=1)
    order.flags.writeable = False
    return order


def chance_intervals(pred: np.ndarray, d: np.ndarray, center: float, n_perm: int, seed: int, level: float) -> tuple[float, ...]:
    """(accuracy low, high, AUC low, high): the central ``level`` of sign accuracy and AUC with the signs of d permuted.

    Over the items sign_agreement uses (finite, d != 0), the numbers of positive and negative d
    kept: what a prediction unrelated to d scores on these items (accuracy is not centred at 0.5
    when the signs are unbalanced). NaN without permutations or with one sign only (AUC).
    """
    ok = np.isfinite(pred) & np.isfinite(d) & (d != 0)
    x, positive = pred[ok] - center, d[ok] > 0
    n, n_pos = len(x), int(positive.sum())
    nan4 = (np.nan,) * 4
    if n_perm < 1 or n == 0:
        return nan4
    shuffled = positive[_permutations(n_perm, n, seed)].astype(float)  # permutations x items, 1 = positive
    # hits: a tie counts half; x > 0 hits a positive, x < 0 a negative (1 - shuffled), as matrix-vector products
    hits = shuffled @ np.sign(x) + (x < 0).sum() + 0.5 * (x == 0).sum()
    accuracy = hits / n
    alpha = (1 - level) / 2
    acc_lo, acc_hi = np.quantile(accuracy, [alpha, 1 - alpha])
    if n_pos in (0, n):
        return float(acc_lo), float(acc_hi), np.nan, np.nan
    ranks = rankdata(x)
    auc = (shuffled @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos))
    auc_lo, auc_hi = np.quantile(auc, [alpha, 1 - alpha])
    return float(acc_lo), float(acc_hi), float(auc_lo), float(auc_hi)
