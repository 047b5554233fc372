"""Synthetic rater panels with known group alignment, for the RQ2 simulation tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings


@dataclass(frozen=True)
class Panel:
    """One simulated data set: machine scores x (n,), dense ratings (n, raters), group code per rater."""

    x: np.ndarray
    ratings: np.ndarray
    code: np.ndarray


def group_truth_loadings(n_groups: int, rho: float, alignment: Sequence[float] | None) -> np.ndarray:
    """Weight of the shared truth in each group's truth so that corr(x, group truth) = alignment[g]."""
    if alignment is None:
        return np.ones(n_groups)
    return np.clip(np.asarray(alignment, dtype=float) / rho, -1.0, 1.0)


def panel(
    rng: np.random.Generator,
    n_items: int,
    sizes: Sequence[int],
    *,
    rho: float = 0.6,
    sigma: float = 1.5,
    alignment: Sequence[float] | None = None,
) -> Panel:
    """Gaussian panel: truth T ~ N(0,1), x = rho T + noise, group truth T_g = l_g T + sqrt(1-l_g^2) U_g,
    rating = T_g + sigma * noise. True alignment corr(x, T_g) = rho * l_g (rho for all when alignment=None).
    """
    t = rng.standard_normal(n_items)
    x = rho * t + np.sqrt(1 - rho**2) * rng.standard_normal(n_items)
    load = group_truth_loadings(len(sizes), rho, alignment)
    columns, codes = [], []
    for g, k in enumerate(sizes):
        tg = load[g] * t + np.sqrt(1 - load[g] ** 2) * rng.standard_normal(n_items)
        columns.append(tg[:, None] + sigma * rng.standard_normal((n_items, k)))
        codes.append(np.full(k, g))
    return Panel(x=x, ratings=np.hstack(columns), code=np.concatenate(codes))


def true_group_r(rho: float, sigma: float, k: int, alignment: float | None = None) -> float:
    """Population r between x and the mean of k raters of a group (attenuated by its reliability)."""
    a = rho if alignment is None else alignment
    return float(a / np.sqrt(1 + sigma**2 / k))


def population_cov(rho: float, sigma: float, sizes: Sequence[int], alignment: Sequence[float] | None = None) -> np.ndarray:
    """Covariance of (x, group mean 1, group mean 2, ...) in the panel model."""
    load = group_truth_loadings(len(sizes), rho, alignment)
    g = len(sizes)
    cov = np.empty((g + 1, g + 1))
    cov[0, 0] = 1.0
    for a in range(g):
        cov[0, a + 1] = cov[a + 1, 0] = rho * load[a]
        for b in range(g):
            cov[a + 1, b + 1] = load[a] * load[b] + (1 - load[a] ** 2 + sigma**2 / sizes[a] if a == b else 0.0)
    return cov


def sparse_annotations(
    n_items: int, n_raters: int, n_groups: int, per_item: int, seed: int, *, rho: float = 0.6, sigma: float = 1.5
) -> tuple[Annotations, np.ndarray]:
    """A sparse long-form data set (per_item random raters per item, missing elsewhere) and machine scores.

    Raters are split evenly into groups (attribute ``rater_group``); ratings follow the panel model.
    """
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(n_items)
    x = rho * t + np.sqrt(1 - rho**2) * rng.standard_normal(n_items)
    # per_item distinct raters per item: random offsets into a random rater order.
    base = rng.integers(0, n_raters, size=n_items)
    step = rng.permutation(n_raters)[:per_item]
    rater = (base[:, None] + step[None, :]) % n_raters
    item = np.repeat(np.arange(n_items), per_item)
    rater = rater.ravel()
    values = t[item] + sigma * rng.standard_normal(len(item))
    raters = pd.DataFrame(
        {"rater_group": [f"g{int(g)}" for g in np.arange(n_raters) % n_groups]},
        index=pd.Index([f"r{j}" for j in range(n_raters)], name="rater_id"),
    )
    items = pd.DataFrame(index=pd.Index([f"i{j}" for j in range(n_items)], name="item_id"))
    data = Annotations(
        name="synthetic",
        items=items,
        raters=raters,
        item_index=item.astype(np.int64),
        rater_index=rater.astype(np.int64),
        values=values,
    )
    return data, x


@dataclass(frozen=True)
class CrossedModel:
    """Group ratings as rich as DICES': raters who differ, groups that see different things, missing ratings.

    Item i has a shared truth c_i, a truth u_gi of each group g and a second dimension z_i. Group g's
    truth is t_g = sqrt(share) c + sqrt(1 - share) u_g; rater j of g rates
    lambda_j t_g + kappa_j z + b_j + noise e (lambda ~ N(1, loading_sd), kappa ~ N(0, second_sd),
    leniency b ~ N(0, leniency_sd)), cut into ``levels`` ordered levels like DICES's 0 / 0.5 / 1
    (0: left continuous), with a share ``missing`` of ratings left out at random. The machine is
    x = c + machine_second * z + machine_noise * N(0, 1): it aligns equally with every group in the
    population, and raters who weigh the second dimension more agree more with it (so which raters a
    group happens to have moves its r at first order, as in DICES).
    """

    n_items: int = 350
    sizes: tuple[int, ...] = (10, 10)
    share: float = 1.0
    loading_sd: float = 0.4
    second_sd: float = 0.4
    leniency_sd: float = 0.5
    noise: float = 0.8
    machine_noise: float = 1.0
    machine_second: float = 0.5
    missing: float = 0.15
    levels: int = 3
    #: per group, the share of its truth that is the shared signal (overrides ``share``): a group with a
    #: smaller share aligns less with the machine in the population, a true disparity
    group_shares: tuple[float, ...] | None = None

    def share_of(self, group: int) -> float:
        """The shared-signal share of group ``group``'s truth."""
        return float(self.share if self.group_shares is None else self.group_shares[group])


#: Cut points of the 3-level ratings (on the latent scale), as DICES's No / Unsure / Yes.
CUTS = (-0.5, 1.0)


def crossed_data(model: CrossedModel, rng: np.random.Generator) -> tuple[Annotations, MachineRatings]:
    """One simulated data set of ``model``: long-form ratings with a ``rater_group`` attribute, and the machine."""
    n = model.n_items
    c, z = rng.standard_normal((2, n))
    x = c + model.machine_second * z + model.machine_noise * rng.standard_normal(n)
    items, raters, values, groups = [], [], [], []
    start = 0
    for g, k in enumerate(model.sizes):
        t = np.sqrt(model.share_of(g)) * c + np.sqrt(1 - model.share_of(g)) * rng.standard_normal(n)
        lam = 1 + model.loading_sd * rng.standard_normal(k)
        kap = model.second_sd * rng.standard_normal(k)
        lenient = model.leniency_sd * rng.standard_normal(k)
        latent = t[:, None] * lam + z[:, None] * kap + lenient + model.noise * rng.standard_normal((n, k))
        rating = np.digitize(latent, CUTS) / 2.0 if model.levels == 3 else latent
        seen = rng.random((n, k)) >= model.missing
        item, rater = np.nonzero(seen)
        items.append(item)
        raters.append(rater + start)
        values.append(rating[item, rater])
        groups += [f"g{g}"] * k
        start += k
    data = Annotations(
        name="crossed-sim",
        items=pd.DataFrame(index=pd.Index([f"i{j}" for j in range(n)], name="item_id")),
        raters=pd.DataFrame({"rater_group": groups}, index=pd.Index([f"r{j}" for j in range(start)], name="rater_id")),
        item_index=np.concatenate(items).astype(np.int64),
        rater_index=np.concatenate(raters).astype(np.int64),
        values=np.concatenate(values).astype(float),
    )
    return data, MachineRatings(names=["machine"], scores=x[:, None], sources=["simulated"])


def population_group_r(model: CrossedModel, n_items: int = 400_000, seed: int = 0, group: int = 0) -> float:
    """corr(x, the mean rating of group ``group``'s whole population of raters) (the same for every group unless ``group_shares``).

    Given an item, a random rater's latent rating is normal with mean t and variance
    t^2 loading_sd^2 + z^2 second_sd^2 + leniency_sd^2 + noise^2, so the population mean of the
    cut rating is a sum of normal tail probabilities; the correlation is then taken over many items.
    """
    from scipy.special import ndtr

    rng = np.random.default_rng(seed)
    c, z, u = rng.standard_normal((3, n_items))
    x = c + model.machine_second * z + model.machine_noise * rng.standard_normal(n_items)
    t = np.sqrt(model.share_of(group)) * c + np.sqrt(1 - model.share_of(group)) * u
    if model.levels != 3:
        return float(np.corrcoef(x, t)[0, 1])
    sd = np.sqrt(t**2 * model.loading_sd**2 + z**2 * model.second_sd**2 + model.leniency_sd**2 + model.noise**2)
    mean = 0.5 * (ndtr((t - CUTS[0]) / sd) + ndtr((t - CUTS[1]) / sd))
    return float(np.corrcoef(x, mean)[0, 1])


def population_headline_and_percentile(
    model: CrossedModel, n_items: int = 20_000, n_raters: int = 2_000, seed: int = 999, n_draws: int = 4
) -> tuple[float, float]:
    """Brute force: (corr(x, crowd mean) - the median rater's corr with the crowd mean, the machine's percentile among the raters).

    The targets of RQ1's headline at infinitely many items and raters: each rater's r with the crowd
    mean of ``n_raters`` on ``n_items`` items (one group, every item rated by every rater), the
    percentile counting the raters below the machine's r (100 x share), averaged over ``n_draws``
    independent draws. One draw of 1,000 raters is not enough: its sample of raters moves the
    median by about 0.006 and the percentile by about 2 points (four draws of 2,000 gave -0.014 to
    -0.026 and 42.7 to 46.8 for ``CrossedModel(sizes=(30,))``); the average of four has about half that error.
    """
    big = CrossedModel(**{**model.__dict__, "n_items": n_items, "sizes": (n_raters,), "missing": 0.0})
    diffs, percentiles = [], []
    for draw in range(n_draws):
        data, machine = crossed_data(big, np.random.default_rng([seed, draw]) if draw else np.random.default_rng(seed))
        ratings = np.empty((n_items, n_raters))
        ratings[data.item_index, data.rater_index] = data.values
        crowd = ratings.mean(axis=1)
        dev, crowd_dev = ratings - ratings.mean(axis=0), crowd - crowd.mean()
        per_rater = (dev * crowd_dev[:, None]).sum(axis=0) / np.sqrt((dev**2).sum(axis=0) * (crowd_dev**2).sum())
        r_machine = float(np.corrcoef(machine.scores[:, 0], crowd)[0, 1])
        diffs.append(r_machine - float(np.median(per_rater)))
        percentiles.append(100.0 * float(np.mean(per_rater < r_machine)))
    return float(np.mean(diffs)), float(np.mean(percentiles))


def _population_mean_rating(model: CrossedModel, t: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The mean rating of a group's whole population of raters at items with group truth t and second dimension z."""
    from scipy.special import ndtr

    if model.levels != 3:
        return t
    sd = np.sqrt(t**2 * model.loading_sd**2 + z**2 * model.second_sd**2 + model.leniency_sd**2 + model.noise**2)
    return 0.5 * (ndtr((t - CUTS[0]) / sd) + ndtr((t - CUTS[1]) / sd))


def population_difference_reliability(model: CrossedModel, n_items: int = 4000, n_sets: int = 200, seed: int = 0) -> float:
    """The true reliability of d = mean of group 0 - mean of group 1 with ``model.sizes`` raters (and its missing share).

    var_i(D) / E_raters[var_i(d)]: D is the difference of the two groups' population mean ratings
    (exact given the item, ``_population_mean_rating``, over 400,000 items); the denominator is the
    item variance of the observed d, averaged over ``n_sets`` simulated data sets of ``n_items``
    items (fresh raters each). Monte Carlo error about 0.003 with the defaults.
    """
    rng = np.random.default_rng([seed, 1])
    c, z, u_a, u_b = rng.standard_normal((4, 400_000))
    root, rest = np.sqrt(model.share), np.sqrt(1 - model.share)
    big_d = _population_mean_rating(model, root * c + rest * u_a, z) - _population_mean_rating(model, root * c + rest * u_b, z)
    big = CrossedModel(**{**model.__dict__, "n_items": n_items})
    observed = []
    for k in range(n_sets):
        data, _ = crossed_data(big, np.random.default_rng([seed, 2, k]))
        g = (data.rater_index >= model.sizes[0]).astype(np.int64)
        flat = data.item_index * 2 + g
        sums = np.bincount(flat, weights=data.values, minlength=2 * n_items).reshape(n_items, 2)
        counts = np.bincount(flat, minlength=2 * n_items).reshape(n_items, 2)
        ok = (counts > 0).all(axis=1)
        d = sums[ok, 0] / counts[ok, 0] - sums[ok, 1] / counts[ok, 1]
        observed.append(np.var(d, ddof=1))
    return float(np.var(big_d, ddof=1) / np.mean(observed))
