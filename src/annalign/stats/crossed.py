"""Crossed inference for statistics of a group's mean rating: items and raters are both samples.

A group's r with a machine generalises to the group (a population of raters) only if its
uncertainty counts the raters as well as the items. Owen's pigeonhole bootstrap (Owen 2007, "The
pigeonhole bootstrap", Ann. Appl. Stat. 1(2)) resamples both, but counts the item x rater noise
about three times, and a rater drawn twice makes each resampled mean noisier than the real one;
McCullagh (2000, "Resampling and exchangeable arrays", Bernoulli 6(2)) shows that no resampling
scheme is unbiased for crossed designs. On DICES-like simulations the pigeonhole intervals were
about three times too wide. So the variance is assembled from its two components instead:

- items: the usual item bootstrap with these raters (it carries the item x rater noise once);
- raters: the infinitesimal jackknife over raters (the derivative of the statistic in each rater's
  weight), *cross-fitted* on two random halves of the items. The noise in a rater's influence is
  independent between disjoint halves while the rater's real effect is shared, so the product of
  the two halves' influences estimates the rater component without the noise already counted by
  the item bootstrap (the unbiased cross-product idea behind variance-component estimators).

Replicates of the crossed scheme are the item-bootstrap replicates plus a Gaussian multiplier
bootstrap of the rater influences, scaled to the cross-fitted variance; the same multipliers serve
every machine and statistic, so differences stay paired.

The reliability of a group mean is the variance-component form that works with rater weights:
rel = 1 - s2_within * mean_i(D_i / n_i^2) / var_i(mean_i), with s2_within the within-item variance
of rater-centred ratings over distinct raters (a rater counted twice is not two raters) and
D_i = sum of squared weights. With one weight per rater and every item rated by every rater it
equals Cronbach's alpha (ICC(C,k)), the mean of all split-half coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from annalign.stats.correlation import unit_scale

#: Relative step of the central differences in the raters' weights.
STEP = 1e-4


@dataclass(frozen=True)
class RaterBlock:
    """One group's ratings as items x raters matrices usable with ``@`` (dense or scipy.sparse)."""

    vals: Any
    mask: Any
    centred: Any
    centred_sq: Any
    n_raters: int


def rater_block(vals: Any, mask: Any) -> RaterBlock:
    """The block of a group: its ratings, their mask, and the ratings centred on each rater's own mean."""
    count = np.asarray(mask.sum(axis=0)).ravel()
    total = np.asarray(vals.sum(axis=0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.where(count > 0, count, 1.0), 0.0)
    if hasattr(mask, "multiply"):  # scipy.sparse: centre the stored cells only
        centred = vals - mask.multiply(mean[None, :]).tocsr()
        centred = centred.tocsr()
        squared = centred.multiply(centred).tocsr()
    else:
        centred = np.where(mask > 0, vals - mean[None, :], 0.0)
        squared = centred * centred
    return RaterBlock(vals=vals, mask=mask, centred=centred, centred_sq=squared, n_raters=int(mask.shape[1]))


@dataclass(frozen=True)
class ItemTerms:
    """Per item and rater-weight variant (items x variants): what the group statistics are sums of."""

    has: np.ndarray
    mean: np.ndarray
    within: np.ndarray
    two_raters: np.ndarray
    error_share: np.ndarray


def item_terms(block: RaterBlock, weights: np.ndarray) -> ItemTerms:
    """The group mean per item and the pieces of its reliability, for each row of rater weights (variants x raters)."""
    w = np.asarray(weights, dtype=float).T
    n = np.asarray(block.mask @ w)
    total = np.asarray(block.vals @ w)
    s_c = np.asarray(block.centred @ w)
    q_c = np.asarray(block.centred_sq @ w)
    d = np.asarray(block.mask @ (w * w))
    has = n > 0
    safe_n = np.where(has, n, 1.0)
    spread = n * n - d  # sum over pairs of distinct raters of w_j w_k (twice); 0 with one rater
    two = spread > 1e-9 * safe_n * safe_n
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(two, (n * q_c - s_c * s_c) / np.where(two, spread, 1.0), 0.0)
    return ItemTerms(
        has=has.astype(float),
        mean=np.where(has, total / safe_n, 0.0),
        within=np.maximum(within, 0.0),
        two_raters=two.astype(float),
        error_share=np.where(has, d / (safe_n * safe_n), 0.0),
    )


def reliability_design(terms: ItemTerms) -> np.ndarray:
    """Items x 6 columns whose item-weighted sums give the reliability (one rater-weight variant)."""
    t = terms
    return np.column_stack([t.has[:, 0], t.mean[:, 0], t.mean[:, 0] ** 2, t.two_raters[:, 0], t.within[:, 0], t.error_share[:, 0]])


def reliability_from_sums(sums: np.ndarray) -> np.ndarray:
    """Reliability per row of item-weighted sums (..., 6) of ``reliability_design`` columns; NaN where undefined."""
    s = np.asarray(sums, dtype=float)
    w, sy, syy, w2, sw, se = (s[..., j] for j in range(6))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sy / w
        var = syy / w - mean * mean
        error = (sw / w2) * (se / w)
        rel = 1.0 - error / var
    return np.where((w > 0) & (w2 > 0) & (var > 0), rel, np.nan)


def stats_from_sums(rel_sums: np.ndarray, mach_sums: np.ndarray) -> np.ndarray:
    """(..., 2 m + 1): r with each machine, the reliability, adjusted r, from item-weighted sums.

    ``rel_sums`` (..., 6) are the sums of ``reliability_design``'s columns; ``mach_sums`` (..., m, 6)
    are per machine the weighted n, sum x, sum x^2, sum y, sum y^2, sum xy over items with both.
    """
    rel = reliability_from_sums(rel_sums)
    n, sx, sxx, sy, syy, sxy = (mach_sums[..., j] for j in range(6))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy / n - (sx / n) * (sy / n)
        r = cov / np.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2))
        root = np.sqrt(np.where(rel > 0, rel, 1.0))[..., None]
        adj = np.where(rel[..., None] > 0, r / root, np.nan)
    return np.concatenate([r, rel[..., None], adj], axis=-1)


def _sums_of_terms(terms: ItemTerms, x: np.ndarray, xvalid: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, variants, 6) reliability sums and (rows, variants, m, 6) machine sums for item weights u (rows, items)."""
    t = terms
    rel = np.stack(
        [u @ t.has, u @ t.mean, u @ t.mean**2, u @ t.two_raters, u @ (t.two_raters * t.within), u @ t.error_share], axis=-1
    )
    xu = u[:, None, :] * xvalid.T[None, :, :]  # rows x machines x items

    def over(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.swapaxes(left @ right, 1, 2)  # rows x variants x machines

    mach = [over(xu, t.has), over(xu * x.T, t.has), over(xu * (x * x).T, t.has)]
    mach += [over(xu, t.mean), over(xu, t.mean**2), over(xu * x.T, t.mean)]
    return rel, np.stack(mach, axis=-1)


def stats_from_terms(terms: ItemTerms, x: np.ndarray, xvalid: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(item-weight rows, rater-weight variants, 2 m + 1): r with each machine, the reliability, adjusted r.

    x is items x machines with NaN replaced by 0 and ``xvalid`` its mask; u is (rows, items) item weights.
    """
    return stats_from_sums(*_sums_of_terms(terms, x, xvalid, u))


def _ratings_of(block: RaterBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(item, rater, rating, rater-centred rating) of every rating in the block."""
    if hasattr(block.mask, "tocoo"):
        coo = block.mask.tocoo()
        item, rater = coo.row.astype(np.int64), coo.col.astype(np.int64)
        value = np.asarray(block.vals[item, rater]).ravel()
        centred = np.asarray(block.centred[item, rater]).ravel()
        return item, rater, value, centred
    item, rater = np.nonzero(block.mask)
    return item, rater, block.vals[item, rater], block.centred[item, rater]


def _item_sums(block: RaterBlock) -> tuple[np.ndarray, ...]:
    """Per item, with every rater at weight 1: (count, sum, centred sum, centred sum of squares)."""
    one = np.ones(block.n_raters)
    return tuple(np.asarray(m @ one).ravel() for m in (block.mask, block.vals, block.centred, block.centred_sq))


def _bumped_terms(base: ItemTerms, sums: tuple[np.ndarray, ...], ratings: tuple[np.ndarray, ...], step: float) -> np.ndarray:
    """Per rating (ratings, 5): how its item's (mean, mean^2, two raters, two x within, error share) change
    when that rating's rater weighs 1 + step instead of 1 (the other raters of the item unchanged).

    ``base`` are the all-ones item terms and ``sums`` the all-ones ``_item_sums``.
    """
    item, _, value, centred = ratings
    n, s, sc, qc = sums
    n1, s1 = n[item] + step, s[item] + step * value
    sc1, qc1, d1 = sc[item] + step * centred, qc[item] + step * centred * centred, n[item] + 2 * step + step * step
    mean1 = s1 / n1
    spread = n1 * n1 - d1
    two = spread > 1e-9 * n1 * n1
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(two, np.maximum((n1 * qc1 - sc1 * sc1) / np.where(two, spread, 1.0), 0.0), 0.0)
    b = [v[item, 0] for v in (base.mean, base.two_raters, base.within, base.error_share)]
    return np.column_stack([mean1 - b[0], mean1**2 - b[0] ** 2, two - b[1], two * within - b[1] * b[2], d1 / (n1 * n1) - b[3]])


#: items x raters cells up to which per-rater sums use a dense items x (raters x columns) matrix and BLAS
DENSE_CELLS = 2_000_000


def rater_scatter(item: np.ndarray, rater: np.ndarray, columns: np.ndarray, shape: tuple[int, int], *, dense: bool) -> Any:
    """The items x (raters x width) matrix holding each rating's row of ``columns`` at (its item, its rater's block).

    ``per_rater_sums`` of it is one matrix product: dense (BLAS) for DICES-sized blocks, scipy.sparse
    beyond, so work stays in proportion to the ratings (one rating per item and rater).
    """
    n_items, k = shape
    width = columns.shape[1]
    if dense:
        scatter = np.zeros((n_items, k, width))
        scatter[item, rater] = columns
        return scatter.reshape(n_items, k * width)
    cols = (rater[:, None] * width + np.arange(width)[None, :]).ravel()
    return sparse.csc_matrix((columns.ravel(), (np.repeat(item, width), cols)), shape=(n_items, k * width))


def per_rater_sums(u: np.ndarray, scatter: Any) -> np.ndarray:
    """(rows, raters x width): sum over each rater's ratings of u[row, item] x columns[rating]."""
    return np.asarray(u @ scatter) if isinstance(scatter, np.ndarray) else np.asarray((scatter.T @ u.T).T)


def rater_gradients(block: RaterBlock, x: np.ndarray, xvalid: np.ndarray, u: np.ndarray) -> np.ndarray:
    """d statistic / d weight of each rater (rows of u, raters, 2 m + 1), by central differences at weight 1.

    A rater's weight moves only the items it rated, so each variant is the all-ones sums plus that
    rater's ratings' changes, summed per rater: work in proportion to the ratings, not items x raters
    (100,000-item groups of hundreds of raters stay cheap).
    """
    u, k, n_machines = np.atleast_2d(u), block.n_raters, x.shape[1]
    base = item_terms(block, np.ones((1, k)))
    rel0, mach0 = _sums_of_terms(base, x, xvalid, u)  # rows x 1 x ...
    sums, ratings = _item_sums(block), _ratings_of(block)
    item, rater = ratings[0], ratings[1]
    xv, xx = xvalid[item], x[item]  # ratings x machines
    steps = []
    for step in (STEP, -STEP):
        change = _bumped_terms(base, sums, ratings, step)  # ratings x 5
        steps.append(np.concatenate([change, xv * change[:, :1], xv * change[:, 1:2], xv * xx * change[:, :1]], axis=1))
    columns = np.concatenate(steps, axis=1)  # ratings x (2 steps x width)
    scatter = rater_scatter(item, rater, columns, (x.shape[0], k), dense=x.shape[0] * k <= DENSE_CELLS)
    per_rater = per_rater_sums(u, scatter).reshape(u.shape[0], k, 2, -1)
    out = []
    for s in range(2):
        rel = np.broadcast_to(rel0, (u.shape[0], k, 6)).copy()
        rel[..., 1:] += per_rater[:, :, s, :5]
        mach = np.broadcast_to(mach0, (u.shape[0], k, n_machines, 6)).copy()
        for j, col in enumerate((3, 4, 5)):
            mach[..., col] += per_rater[:, :, s, 5 + j * n_machines : 5 + (j + 1) * n_machines]
        out.append(stats_from_sums(rel, mach))
    with np.errstate(invalid="ignore", over="ignore"):  # undefined statistics stay NaN; callers drop them
        return (out[0] - out[1]) / (2 * STEP)


def rater_variance(gradients: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """Jackknife-scaled rater variance k / (k - 1) * sum_j g_j h_j over the raters axis (-2); h = g: the infinitesimal jackknife."""
    k = gradients.shape[-2]
    h = gradients if other is None else other
    return k / max(k - 1, 1) * np.nansum(gradients * h, axis=-2)


def crossfit_rater_variances(
    block: RaterBlock, x: np.ndarray, xvalid: np.ndarray, n_splits: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(full-data gradients (raters, s), cross-fitted rater variance (s,), infinitesimal-jackknife variance (s,)).

    Each of ``n_splits`` random halves of the items gives a gradient on each half; the mean of the
    halves' cross-products is the rater component free of item x rater noise, the full-data
    jackknife variance carries that noise too.
    """
    n_items = x.shape[0]
    x = unit_scale(x)  # r is scale-free; 1e300-scale scores must not overflow the squares
    halves = (np.argsort(rng.random((n_splits, n_items)), axis=1) < n_items // 2).astype(float)
    grads = rater_gradients(block, x, xvalid, np.vstack([np.ones(n_items), halves, 1.0 - halves]))
    full, first, second = np.nan_to_num(grads[0]), grads[1 : n_splits + 1], grads[n_splits + 1 :]
    if block.n_raters < 2:
        zero = np.zeros(full.shape[1])
        return full, zero, zero
    with np.errstate(invalid="ignore"):
        clean = np.nanmean(rater_variance(first, second), axis=0)
    return full, np.where(np.isfinite(clean), clean, 0.0), rater_variance(full)


def pooled_signal_share(clean: np.ndarray, total: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The share of the jackknife rater variance that is rater signal, pooled over groups (groups x s -> s), in [0, 1].

    One group's cross-fitted variance has few degrees of freedom (about 6 for 19 raters, under 1
    for 4 in DICES-like simulations), so a small group's interval would swing with it. The signal
    share is a property of the raters, not of a group's size, so it is pooled as a ratio of sums on
    the per-rater scale (k x variance: every rater counts once), and each group keeps its own
    jackknife variance (many more degrees of freedom) to scale: partial pooling in the spirit of
    moderated variances (Smyth 2004, Stat. Appl. Genet. Mol. Biol. 3(1)).
    """
    k = np.asarray(sizes, dtype=float)[:, None]
    ok = np.isfinite(clean) & np.isfinite(total) & (k >= 2)
    signal = np.where(ok, k * clean, 0.0).sum(axis=0)
    spread = np.where(ok, k * total, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(spread > 0, signal / np.where(spread > 0, spread, 1.0), 0.0)
    return np.clip(share, 0.0, 1.0)


def multiplier_draws(n_boot: int, n_raters: int, seed: int) -> np.ndarray:
    """Gaussian multipliers (n_boot, n_raters) for the rater direction, from their own seeded stream."""
    return np.random.default_rng([seed, 9]).standard_normal((n_boot, n_raters))


def rater_perturbation(multipliers: np.ndarray, influence: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """(n_boot, 2 m + 1): the rater part of each crossed replicate, scale k/(k-1) sum_j influence_j^2 times ``spread``."""
    k = influence.shape[0]
    return np.sqrt(k / max(k - 1, 1) * spread)[:, None] * (multipliers @ influence)


def variance_spread(n_boot: int, n_raters: int, seed: int, group: int) -> np.ndarray:
    """Per replicate, (k - 1) / chi2(k - 1): the uncertainty of a rater variance estimated from k raters.

    Scaling the rater part by it makes that part a t with k - 1 degrees of freedom rather than a
    normal, so that a group of 4 raters gets the wide tails its 3 degrees of freedom warrant (the
    replicates then behave like a Welch-Satterthwaite interval, without a separate formula).
    """
    df = max(n_raters - 1, 1)
    return df / np.random.default_rng([seed, 10, group]).chisquare(df, n_boot)


def on_fisher_scale(replicates: np.ndarray, delta: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Replicates of a correlation-like statistic plus a perturbation ``delta`` given on its own scale, added as
    delta / (1 - point^2) on the Fisher-z scale and mapped back; where |point| or a replicate is >= 1
    (an adjusted r can be), the perturbation is added as it is."""
    point = np.asarray(point, dtype=float)
    inside = (np.abs(point) < 1)[None, :] & (np.abs(replicates) < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.arctanh(np.where(inside, replicates, 0.0)) + delta / (1 - np.where(np.abs(point) < 1, point, 0.0) ** 2)[None, :]
    # A zero perturbation returns the replicate exactly (tanh(arctanh(x)) can differ from x by an ulp on some libms).
    return np.where(inside & (delta != 0), np.tanh(z), replicates + delta)


def sampling_variance(replicates: np.ndarray, r: np.ndarray) -> float:
    """The within-group variance (over raters, ddof 1) of the replicate errors r* - r, averaged over replicates.

    Replicates where a rater's r is undefined are left out; NaN with fewer than 2 raters or no replicates.
    """
    if replicates.shape[0] == 0 or replicates.shape[1] < 2:
        return float("nan")
    errors = replicates - r[None, :]
    whole = np.isfinite(errors).all(axis=1)
    if not whole.any():
        return float("nan")
    return float(np.var(errors[whole], axis=1, ddof=1).mean())


# ----- the difference of two groups' means (RQ3) ---------------------------------------------------
#: The resampling schemes of group-level intervals and tests (RQ2 and RQ3), and what each generalises to.
RESAMPLE_SCHEMES = {"crossed": "items and raters", "items": "items (conditional on these raters)"}

#: Columns of ``contrast_design``: has d, d, d^2, then per side two raters, two x within, error share.
CONTRAST_COLUMNS = 9


def contrast_design(a: ItemTerms, b: ItemTerms) -> np.ndarray:
    """Items x 9 columns whose item-weighted sums give the reliability of d = mean_A - mean_B (one weight variant).

    The same item terms as a group's reliability (``reliability_design``): each side's within-item
    variance over all its items, its error share D_i / n_i^2 on the items where d is defined.
    """
    has = a.has[:, 0] * b.has[:, 0]
    d = has * (a.mean[:, 0] - b.mean[:, 0])
    columns = [has, d, d * d]
    for t in (a, b):
        columns += [t.two_raters[:, 0], t.two_raters[:, 0] * t.within[:, 0], has * t.error_share[:, 0]]
    return np.column_stack(columns)


def contrast_reliability_from_sums(sums: np.ndarray) -> np.ndarray:
    """Reliability of d per row of item-weighted sums (..., 9) of ``contrast_design``; NaN where undefined.

    rel = 1 - (s2_A mean_i(D_A,i / n_A,i^2) + s2_B mean_i(D_B,i / n_B,i^2)) / var_i(d_i): the group
    reliability of ``reliability_from_sums`` with the noise of both means (with one weight per rater,
    noise var of d_i = s2_A / n_A,i + s2_B / n_B,i). A side that is a constant (no noise, mean 0)
    gives exactly the other side's group reliability.
    """
    s = np.asarray(sums, dtype=float)
    w, sd, sdd = s[..., 0], s[..., 1], s[..., 2]
    ok = w > 0
    noise = np.zeros(np.shape(w))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sd / w
        var = sdd / w - mean * mean
        for j in (3, 6):
            two, within, share = s[..., j], s[..., j + 1], s[..., j + 2]
            ok = ok & (two > 0)
            noise = noise + np.where(two > 0, within / np.where(two > 0, two, 1.0), 0.0) * (share / w)
        rel = 1.0 - noise / var
    return np.where(ok & (var > 0), rel, np.nan)


def _contrast_columns(design: np.ndarray, x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Items x (9 + 6 m): the contrast design, then per predictor n, sum x, sum d, sum x^2, sum d^2, sum x d."""
    d = design[:, 1:2]
    xv = x * valid
    return np.concatenate([design, valid, xv, valid * d, xv * x, valid * d * d, xv * d], axis=1)


def contrast_stats_from_sums(sums: np.ndarray, m: int) -> np.ndarray:
    """(..., m + 1): r of each predictor with d, then the reliability of d, from sums of ``_contrast_columns``."""
    rel = contrast_reliability_from_sums(sums[..., :CONTRAST_COLUMNS])
    part = [sums[..., CONTRAST_COLUMNS + j * m : CONTRAST_COLUMNS + (j + 1) * m] for j in range(6)]
    n, sx, sy, sxx, syy, sxy = part
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (sxy - sx * sy / n) / np.sqrt((sxx - sx * sx / n) * (syy - sy * sy / n))
    return np.concatenate([r, rel[..., None]], axis=-1)


#: Cells (columns x items x raters, 16 MB) up to which the per-rater sums of ``contrast_gradients`` use a dense array.
DENSE_PER_RATER = 2_000_000


def _per_rater(rater: np.ndarray, item: np.ndarray, change: np.ndarray, k: int, u: np.ndarray) -> np.ndarray:
    """(rows of u, raters, columns): per rater, the item-weighted sum of its ratings' changes (``rater_scatter``)."""
    n_items, n_cols = u.shape[1], change.shape[1]
    scatter = rater_scatter(item, rater, change, (n_items, k), dense=n_items * k * n_cols <= DENSE_PER_RATER)
    return per_rater_sums(u, scatter).reshape(u.shape[0], k, n_cols)


def _rating_derivatives(sums: tuple[np.ndarray, ...], item: np.ndarray, value: np.ndarray, centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per rating, d/d(its rater's weight) at weight 1 of its item's group mean and of two raters x within-item variance.

    With unit weights the within-item variance is (n q - s^2) / (n^2 - n) over the item's n raters
    (q, s: sums of squares and sum of rater-centred ratings); a weight w_j adds w_j to n, w_j c and
    w_j c^2 to s and q, and w_j^2 to the sum of squared weights (so n^2 - D moves by 2n - 2).
    """
    n, total, sc, qc = (v[item] for v in sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_mean = (value - total / n) / n
        two = n >= 2 - 1e-9
        num, den = n * qc - sc * sc, np.where(two, n * n - n, 1.0)
        d_num, d_den = qc + n * centred * centred - 2 * sc * centred, 2 * n - 2
        d_within = np.where(two, (d_num * den - num * d_den) / (den * den), 0.0)
    return d_mean, d_within


def _sums_jacobian(base: np.ndarray, columns: np.ndarray, m: int) -> np.ndarray:
    """(rows, columns, m + 1): d statistic / d sum for the given columns of the sums, by central differences."""
    q = len(columns)
    h = 1e-6 * np.maximum(np.abs(base[:, columns]), 1.0)  # rows x q
    bump = np.zeros((q, base.shape[0], base.shape[1]))
    bump[np.arange(q), :, columns] = h.T
    with np.errstate(invalid="ignore", over="ignore"):
        up, down = contrast_stats_from_sums(base[None] + bump, m), contrast_stats_from_sums(base[None] - bump, m)
        return ((up - down) / (2 * h.T[:, :, None])).transpose(1, 0, 2)


def contrast_gradients(a: RaterBlock, b: RaterBlock, x: np.ndarray, xvalid: np.ndarray, u: np.ndarray) -> np.ndarray:
    """d statistic / d weight of each rater of A, then of B: (rows of u, k_A + k_B, m + 1).

    Statistics: Pearson r of each predictor column of x (items x m, NaN replaced by 0, ``xvalid``
    its mask) with d = mean_A - mean_B on the items where both are defined, then the reliability
    of d (``contrast_reliability_from_sums``). As in ``rater_gradients``, a rater's weight moves only
    the items it rated (each rating's derivative of its item's terms, ``_rating_derivatives``), so
    the work is in proportion to the ratings; the chain rule then goes through the item-weighted sums.
    """
    u, m = np.atleast_2d(u), x.shape[1]
    terms = [item_terms(block, np.ones((1, block.n_raters))) for block in (a, b)]
    design = contrast_design(*terms)
    has, d = design[:, 0], design[:, 1]
    valid = xvalid * has[:, None]
    base = u @ _contrast_columns(design, x, valid)  # rows x columns
    c0, mach = CONTRAST_COLUMNS, np.arange(m)
    out = []
    for side, (block, sign) in enumerate(((a, 1.0), (b, -1.0))):
        # the sums a rating's weight moves: d, d^2, its side's two x within, and per predictor sum d, sum d^2, sum x d
        # (the count of items with two raters and the error share D / n^2 do not move at weight 1)
        moving = np.concatenate([[1, 2, 4 + 3 * side], c0 + 2 * m + mach, c0 + 4 * m + mach, c0 + 5 * m + mach])
        item, rater, value, centred = _ratings_of(block)
        v, at = valid[item], has[item]
        d_mean, d_within = _rating_derivatives(_item_sums(block), item, value, centred)
        dd = sign * d_mean * at
        dsq = 2 * d[item] * dd
        change = np.column_stack([dd, dsq, d_within, v * dd[:, None], v * dsq[:, None], v * x[item] * dd[:, None]])
        moved = _per_rater(rater, item, change, block.n_raters, u)  # rows x raters x moving sums
        out.append(np.einsum("rkq,rqs->rks", moved, _sums_jacobian(base, moving, m)))
    return np.concatenate(out, axis=1)


def contrast_crossfit(
    a: RaterBlock, b: RaterBlock, x: np.ndarray, xvalid: np.ndarray, n_splits: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(full-data gradients (k_A + k_B, m + 1), cross-fitted rater variance (2, m + 1), jackknife variance (2, m + 1)).

    ``crossfit_rater_variances`` for the statistics of a difference of two groups' means: one row
    per side (A, B), so that ``pooled_signal_share`` pools the two sides as it pools RQ2's groups.
    """
    n_items = x.shape[0]
    x = unit_scale(x)
    halves = (np.argsort(rng.random((n_splits, n_items)), axis=1) < n_items // 2).astype(float)
    grads = contrast_gradients(a, b, x, xvalid, np.vstack([np.ones(n_items), halves, 1.0 - halves]))
    full, first, second = np.nan_to_num(grads[0]), grads[1 : n_splits + 1], grads[n_splits + 1 :]
    clean, total = [], []
    for sl, k in ((slice(0, a.n_raters), a.n_raters), (slice(a.n_raters, None), b.n_raters)):
        if k < 2:
            clean.append(np.zeros(full.shape[1]))
            total.append(np.zeros(full.shape[1]))
            continue
        with np.errstate(invalid="ignore"):
            c = np.nanmean(rater_variance(first[:, sl], second[:, sl]), axis=0)
        clean.append(np.where(np.isfinite(c), c, 0.0))
        total.append(rater_variance(full[sl]))
    return full, np.stack(clean), np.stack(total)


def on_reliability_scale(replicates: np.ndarray, delta: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Replicates of a reliability plus a perturbation ``delta`` given on its own scale, added on the -log(1 - rel)
    scale (as delta / (1 - point)) and mapped back; where point or a replicate is >= 1, added as it is.

    (1 - rel_hat) / (1 - rel) is close to an F variable for Cronbach's alpha (Feldt 1965,
    Psychometrika 30(3)), so log(1 - rel) is the scale where its error is near symmetric: a
    reliability of 0.7 can fall further below than rise above.
    """
    point = np.asarray(point, dtype=float)
    inside = (point < 1)[None, ...] & (replicates < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = -np.log1p(-np.where(inside, replicates, 0.0)) + delta / (1 - np.where(point < 1, point, 0.0))[None, ...]
    return np.where(inside, -np.expm1(-z), replicates + delta)
