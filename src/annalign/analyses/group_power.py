"""Power of RQ2's disparity test (p_adjusted) from a variance-components model fitted to the data.

The test reads the adjusted difference d = adj_a - adj_b against its crossed replicates: an item
part (the item bootstrap with these raters) plus, per group, a rater part (the cross-fitted
jackknife over its raters, with t(k - 1) tails). The model keeps those pieces of var(d) and scales
each by what it depends on:

- item part, (n_obs / n) x (S_ab + N_a / m_a + N_b / m_b): N_g / m_g is what the item x rater noise
  adds with m_g raters per item (estimated from the item bootstrap with random halves of the
  group's raters against all of them, on the same item draws: Spearman-Brown's 1 / m in the
  variance), S_ab the rest (sampling of the group truths, which more raters would not remove);
- rater part, V_g x k_g / k: the rater variance of a mean over k raters of the group's population.

So raters beyond a group's size enter by the model, never by duplicating raters; with k raters per
group, each group keeps its own share of raters per item (k x m_g / k_g). The test rejects when
|d| / se exceeds the quantile of its replicates (``Design.crit``: normal item part, t(k - 1) rater
parts); d / se is a noncentral t with the Welch-Satterthwaite degrees of freedom of the rater parts
(``annalign.stats.power``). Because those degrees of freedom fall as
items grow (the precisely known item part shrinks), the Welch power can dip by a few points with
more items when a small group dominates; the table reports the power with up to n items (one can
always use fewer), which is monotone, and the solvers read the same envelope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annalign.stats.correlation import unit_scale
from annalign.stats.crossed import ItemTerms, RaterBlock, item_terms, stats_from_sums
from annalign.stats.distributions import norm_ppf
from annalign.stats.power import detectable, normal_power, power_from_crit, t_quantile, welch_df

TARGET_POWER = 0.8
#: true differences (adjusted scale) the power table gives columns for, unless asked otherwise
DEFAULT_DIFFS = (0.05, 0.1, 0.15, 0.2)
#: the item counts the solvers scan (with the table's own), log-spaced
SCAN_ITEMS = np.unique(np.round(np.geomspace(4, 1e8, 45)))
#: the raters per group the raters-needed solver scans
SCAN_RATERS = np.unique(np.concatenate([np.arange(2, 21), np.round(np.geomspace(20, 5000, 13))]))
#: random halves of a group's raters used to measure what its item x rater noise adds
N_HALVES = 4


@dataclass(frozen=True)
class PowerGrid:
    """What the power table covers: item counts, raters per group (beyond "observed"), item draws for the fit, test level, true differences."""

    items: Sequence[int]
    raters: Sequence[int] | None = None
    n_sims: int = 1000
    alpha: float = 0.05
    seed: int = 0
    diffs: Sequence[float] = DEFAULT_DIFFS


@dataclass(frozen=True)
class PowerModel:
    """Fitted variance components of adj_a - adj_b (see the module docstring); arrays by machine, group or pair."""

    n_items: np.ndarray  # (machines, groups) items with a machine score and a group mean
    sizes: np.ndarray  # (groups,) raters
    per_item: np.ndarray  # (groups,) harmonic raters per item
    noise_a: np.ndarray  # (machines, pairs) N_a of the pair's first group
    noise_b: np.ndarray  # (machines, pairs) N_b of its second
    signal: np.ndarray  # (machines, pairs) S_ab
    rater: np.ndarray  # (machines, groups) V_g at the observed size (0 for resample "items")
    pairs: tuple[tuple[int, int], ...]


def _sum_gradients(s_rel: np.ndarray, s_mach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d adjusted r / d each item-weighted sum, by central differences: (variants, machines, 6) for the reliability
    sums and (variants, machines, 6) for each machine's own sums (a machine's sums move only its own r)."""
    n_machines = s_mach.shape[1]
    g_rel = np.empty((s_rel.shape[0], n_machines, 6))
    g_mach = np.empty((s_rel.shape[0], n_machines, 6))
    for c in range(6):
        h = 1e-6 * np.maximum(np.abs(s_rel[:, c]), 1e-3)
        up, down = s_rel.copy(), s_rel.copy()
        up[:, c] += h
        down[:, c] -= h
        adj = [stats_from_sums(v, s_mach)[:, n_machines + 1 :] for v in (up, down)]
        g_rel[:, :, c] = (adj[0] - adj[1]) / (2 * h[:, None])
        hm = 1e-6 * np.maximum(np.abs(s_mach[:, :, c]), 1e-3)
        up_m, down_m = s_mach.copy(), s_mach.copy()
        up_m[:, :, c] += hm
        down_m[:, :, c] -= hm
        adj = [stats_from_sums(s_rel, v)[:, n_machines + 1 :] for v in (up_m, down_m)]
        g_mach[:, :, c] = (adj[0] - adj[1]) / (2 * hm)
    return g_rel, g_mach


def item_influences(terms: ItemTerms, xz: np.ndarray, xvalid: np.ndarray) -> np.ndarray:
    """(items, variants, machines): d adjusted r / d the item's weight, whose sum of squares is the item-bootstrap variance.

    The statistic is a smooth function of item-weighted sums (``stats_from_sums``), so its derivative in
    item i's weight is the gradient in those sums dotted with item i's terms: the delta method, exact
    to first order, without drawing items (xz: machine scores with NaN as 0, xvalid their mask).
    """
    t = terms
    f_rel = np.stack([t.has, t.mean, t.mean**2, t.two_raters, t.two_raters * t.within, t.error_share], axis=-1)
    xv, xx = xvalid[:, None, :], xz[:, None, :]
    has, mean = t.has[:, :, None], t.mean[:, :, None]
    f_mach = np.stack([xv * has, xv * xx * has, xv * xx * xx * has, xv * mean, xv * mean * mean, xv * xx * mean], axis=-1)
    g_rel, g_mach = _sum_gradients(f_rel.sum(axis=0), f_mach.sum(axis=0))
    with np.errstate(invalid="ignore"):
        return np.einsum("ivc,vmc->ivm", f_rel, g_rel) + np.einsum("ivmc,vmc->ivm", f_mach, g_mach)


def _item_var(influence: np.ndarray) -> np.ndarray:
    """Item-bootstrap (multinomial) variance from item influences: sum g^2 - (sum g)^2 / n over axis 0."""
    n = influence.shape[0]
    return (influence * influence).sum(axis=0) - influence.sum(axis=0) ** 2 / n


def _group_fit(block: RaterBlock, xz: np.ndarray, xvalid: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """One group's item influences with all raters (items, machines), its N_g (machines,) and raters per item."""
    k, n_machines = block.n_raters, xz.shape[1]
    half = max(2, k // 2) if k >= 3 else 0
    weights = [np.ones(k)]
    for _ in range(N_HALVES if half else 0):
        w = np.zeros(k)
        w[rng.choice(k, half, replace=False)] = 1.0
        weights.append(w)
    terms = item_terms(block, np.stack(weights))
    influence = item_influences(terms, xz, xvalid)  # items x variants x machines
    rated = terms.has > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(rated, terms.error_share, 0.0).sum(axis=0) / rated.sum(axis=0)  # mean 1 / raters per item
    if not half:
        return influence[:, 0, :], np.full(n_machines, np.nan), float(1.0 / inv[0])
    var = _item_var(influence)  # variants x machines
    with np.errstate(invalid="ignore"):
        halves = np.nanmean(var[1:], axis=0)
    step = float(np.mean(inv[1:]) - inv[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.where(step > 0, (halves - var[0]) / step, np.nan)
    return influence[:, 0, :], np.maximum(noise, 0.0), float(1.0 / inv[0])


def fit_power_model(
    blocks: Sequence[RaterBlock], x: np.ndarray, n_items: np.ndarray, rater: np.ndarray, pairs: Sequence[tuple[int, int]], grid: PowerGrid,
) -> PowerModel:  # fmt: skip
    """Fit the model: item influences (the delta method of the item bootstrap) with all of a group's raters and with random halves."""
    rng = np.random.default_rng([grid.seed, 4])
    xz, xvalid = np.nan_to_num(unit_scale(x)), np.isfinite(x).astype(float)
    fits = [_group_fit(block, xz, xvalid, rng) for block in blocks]
    influence = np.stack([f[0] for f in fits], axis=-1)  # items x machines x groups
    noise = np.stack([f[1] for f in fits], axis=-1)
    per_item = np.array([f[2] for f in fits])
    # a group too small for halves borrows the median noise of the others
    fill = np.nanmedian(noise, axis=1, keepdims=True) if np.isfinite(noise).any() else np.zeros((noise.shape[0], 1))
    noise = np.where(np.isfinite(noise), noise, np.nan_to_num(fill))
    a = np.array([p[0] for p in pairs], dtype=int)
    b = np.array([p[1] for p in pairs], dtype=int)
    total = np.nan_to_num(_item_var(influence[:, :, a] - influence[:, :, b]))  # machines x pairs
    # the halves' noise can exceed what the pair's whole item variance leaves room for (small groups:
    # heavy tails with 2 raters); then both noise parts shrink in proportion, so the model always
    # reproduces the observed item variance and only the change with raters comes from the halves
    noise_ab = noise[:, a] / per_item[a] + noise[:, b] / per_item[b]
    with np.errstate(invalid="ignore", divide="ignore"):
        shrink = np.where(noise_ab > total, total / np.where(noise_ab > 0, noise_ab, 1.0), 1.0)
    sizes = np.array([block.n_raters for block in blocks], dtype=float)
    return PowerModel(n_items, sizes, per_item, noise[:, a] * shrink, noise[:, b] * shrink, total - noise_ab * shrink,
                      np.nan_to_num(rater), tuple(pairs))  # fmt: skip


@dataclass(frozen=True)
class Design:
    """Variance of the adjusted difference (machines, pairs, designs, item counts) and its Welch degrees of freedom."""

    var: np.ndarray
    df: np.ndarray
    item_unit: np.ndarray  # the item part at one item: var = item_unit / n + rater
    rater: np.ndarray
    parts: np.ndarray  # (..., 2) the two groups' rater parts
    dfs: np.ndarray  # (..., 2) their degrees of freedom (raters - 1)

    def at(self, index: np.ndarray) -> Design:
        """The design at some item counts (last axis) only."""
        return Design(self.var[..., index], self.df[..., index], self.item_unit, self.rater, self.parts[..., index, :], self.dfs[..., index, :])

    def crit(self, alpha: float) -> np.ndarray:
        """The test's critical value of d / se: the 1 - alpha/2 quantile of its replicates, item part normal plus each
        group's rater part with t(k - 1) tails, each t replaced by the normal with its quantile (so the t spread of the
        replicates, which widens their interval beyond t_nu x se, is carried; within about 1% of the mixture's quantile)."""
        z = float(norm_ppf(1 - alpha / 2))
        inflate = (t_quantile(1 - alpha / 2, self.dfs) / z) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = self.var + (self.parts * (inflate - 1.0)).sum(axis=-1)
            return z * np.sqrt(scaled / self.var)


def design(model: PowerModel, k_a: np.ndarray, k_b: np.ndarray, n: np.ndarray) -> Design:
    """var(adj_a - adj_b) for raters per group k_a, k_b (pairs, designs) at item counts n (broadcast to (machines, pairs, designs, counts))."""
    a = np.array([p[0] for p in model.pairs], dtype=int)
    b = np.array([p[1] for p in model.pairs], dtype=int)
    m_a = model.per_item[a][:, None] * k_a / model.sizes[a][:, None]
    m_b = model.per_item[b][:, None] * k_b / model.sizes[b][:, None]
    n_obs = np.minimum(model.n_items[:, a], model.n_items[:, b])[:, :, None, None]
    noise = model.noise_a[:, :, None] / m_a[None] + model.noise_b[:, :, None] / m_b[None]
    item_unit = n_obs * (model.signal[:, :, None, None] + noise[..., None])
    r_a = (model.rater[:, a][:, :, None] * model.sizes[a][:, None] / k_a[None])[..., None]
    r_b = (model.rater[:, b][:, :, None] * model.sizes[b][:, None] / k_b[None])[..., None]
    var = item_unit / n + r_a + r_b
    parts = np.broadcast_to(np.stack(np.broadcast_arrays(r_a, r_b), axis=-1), var.shape + (2,))
    dfs = np.stack(np.broadcast_arrays((k_a - 1.0)[None, :, :, None], (k_b - 1.0)[None, :, :, None]), axis=-1)
    dfs = np.broadcast_to(dfs, var.shape + (2,))
    return Design(var=var, df=welch_df(var, parts, dfs), item_unit=item_unit, rater=r_a + r_b, parts=parts, dfs=dfs)


def envelope_power(d: Design, delta: np.ndarray, alpha: float) -> np.ndarray:
    """Power at true difference ``delta`` with up to n items (running maximum over the last axis)."""
    crit = d.crit(alpha)
    power = np.where(np.asarray(delta) == 0, alpha, power_from_crit(delta, np.sqrt(d.var), crit, d.df))  # exactly the level at 0
    return np.maximum.accumulate(np.where(np.isnan(np.broadcast_to(delta, power.shape)), np.nan, np.nan_to_num(power)), axis=-1)


def first_crossing(grid: np.ndarray, power: np.ndarray, target: float = TARGET_POWER) -> np.ndarray:
    """The smallest grid value (last axis, increasing) where ``power`` (monotone) reaches ``target``, log-interpolated; inf if none."""
    reached = power >= target
    first = np.argmax(reached, axis=-1)
    ok = reached.any(axis=-1)
    lo = np.maximum(first - 1, 0)
    p_lo = np.take_along_axis(power, lo[..., None], axis=-1)[..., 0]
    p_hi = np.take_along_axis(power, first[..., None], axis=-1)[..., 0]
    g_lo, g_hi = np.log(grid[lo]), np.log(grid[first])
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(p_hi > p_lo, (target - p_lo) / (p_hi - p_lo), 1.0)
    return np.where(ok, np.exp(g_lo + np.clip(t, 0.0, 1.0) * (g_hi - g_lo)), np.inf)


@dataclass(frozen=True)
class PairFacts:
    """What the power tables take from RQ2's pairwise results, per machine and pair: differences and the planning difference."""

    raw_diff: np.ndarray  # (machines, pairs) r_a - r_b
    adjusted_diff: np.ndarray  # (machines, pairs)
    planning: np.ndarray  # (machines, pairs): the end of the adjusted-difference interval nearest 0 (0 if it covers 0)


def planning_difference(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The smallest true difference the pair's interval [low, high] leaves plausible in absolute value: 0 when it covers 0."""
    return np.where(np.isfinite(low) & np.isfinite(high), np.maximum(np.maximum(low, -high), 0.0), np.nan)


def _levels(model: PowerModel, raters: Sequence[int] | None) -> tuple[list[str | int], np.ndarray, np.ndarray]:
    """Raters-per-group levels ("observed", then each asked k) and k_a, k_b (pairs, levels)."""
    a = np.array([p[0] for p in model.pairs], dtype=int)
    b = np.array([p[1] for p in model.pairs], dtype=int)
    asked = [int(k) for k in (raters or [])]
    k_a = np.column_stack([model.sizes[a], *[np.full(len(a), float(k)) for k in asked]])
    k_b = np.column_stack([model.sizes[b], *[np.full(len(b), float(k)) for k in asked]])
    return ["observed", *asked], k_a, k_b


def power_analysis(
    model: PowerModel, names: Sequence[str], labels: Sequence[str], facts: PairFacts, grid: PowerGrid,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Power table (machine x raters level x pair x items) and the items / raters needed for 80% power per pair.

    ``power`` is at the planning difference and the family alpha (alpha / m over the m = pairs x
    machines p-values that Holm adjusts: Holm's first step, so a pair that reaches it is detected
    whatever the others do); ``power_per_pair`` at alpha itself; ``power_diff_D`` at true difference D.
    """
    levels, k_a, k_b = _levels(model, grid.raters)
    items = np.array(sorted({int(n) for n in grid.items}), dtype=float)
    scan = np.unique(np.concatenate([SCAN_ITEMS, items]))
    at = np.searchsorted(scan, items)
    d = design(model, k_a, k_b, scan)
    m_tests = max(len(names) * len(model.pairs), 1)
    alphas = {"family": grid.alpha / m_tests, "pair": grid.alpha}
    plan = facts.planning[:, :, None, None]
    env = {key: envelope_power(d, plan, alpha) for key, alpha in alphas.items()}
    cols: dict[str, np.ndarray] = {
        "power": env["family"][..., at],
        "power_closed_form": normal_power(plan, np.sqrt(d.var), alphas["family"])[..., at],
        "power_per_pair": env["pair"][..., at],
        "planning_diff": np.broadcast_to(plan, d.var.shape)[..., at],
        "se": np.sqrt(d.var)[..., at],
        "df": d.df[..., at],
        "crit": d.crit(alphas["family"])[..., at],
        "crit_per_pair": d.crit(alphas["pair"])[..., at],
    }
    for key, suffix in (("family", ""), ("pair", "_per_pair")):
        mde = np.minimum.accumulate(np.nan_to_num(detectable(np.sqrt(d.var), d.df, d.crit(alphas[key])), nan=np.inf), axis=-1)
        cols[f"mde{suffix}"] = mde[..., at]
    on_items = d.at(at)  # the grid of true differences: at the table's counts
    for diff in grid.diffs:
        cols[f"power_diff_{diff:g}"] = envelope_power(on_items, np.asarray(float(diff)), alphas["family"])
        cols[f"power_per_pair_diff_{diff:g}"] = envelope_power(on_items, np.asarray(float(diff)), alphas["pair"])
    keys = {"machine": list(names), "raters_per_group": levels, "pair": list(range(len(model.pairs))), "n_items": [int(n) for n in items]}
    power = _frame(keys, labels, model.pairs, {k: np.transpose(v, (0, 2, 1, 3)) for k, v in cols.items()})
    power.insert(power.columns.get_loc("power") + 1, "alpha_family", alphas["family"])
    return power, _needed(model, names, labels, facts, (levels, k_a, k_b), (scan, d, env, alphas, grid.diffs))


def _frame(keys: dict[str, list], labels: Sequence[str], pairs: Sequence[tuple[int, int]], cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows over the product of ``keys`` (in order) with the arrays of ``cols`` (shaped like that product) flattened."""
    shape = tuple(len(v) for v in keys.values())
    index = np.indices(shape).reshape(len(shape), -1)
    out: dict[str, object] = {}
    for (name, values), idx in zip(keys.items(), index, strict=True):
        if name == "pair":
            out["group_a"] = [labels[pairs[j][0]] for j in idx]
            out["group_b"] = [labels[pairs[j][1]] for j in idx]
        else:
            out[name] = [values[j] for j in idx]
    out.update({k: np.broadcast_to(v, shape).reshape(-1).astype(float) for k, v in cols.items()})
    return pd.DataFrame(out)


def _needs(effect: np.ndarray, scan: np.ndarray, env: np.ndarray, more: Design, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Items (from the power envelope ``env`` over ``scan``) and raters per group at the observed items (``more``) for 80% power at ``effect``."""
    items = np.where(effect > 0, first_crossing(scan, env), np.inf)
    crit = more.crit(alpha)[..., 0]
    reach = np.maximum.accumulate(np.nan_to_num(power_from_crit(effect, np.sqrt(more.var[..., 0]), crit, more.df[..., 0])), axis=-1)
    raters = np.ceil(first_crossing(SCAN_RATERS, reach) - 1e-9)[..., None]
    return items, np.where(effect > 0, raters, np.inf)


def _needed(
    model: PowerModel, names: Sequence[str], labels: Sequence[str], facts: PairFacts, levels: tuple, scanned: tuple,
) -> pd.DataFrame:  # fmt: skip
    """Per machine, raters level and pair: items for 80% power (family alpha and per pair), raters for it at the observed items, the MDE;
    at the planning difference and at each true difference of the grid (``_diff_D`` columns)."""
    (names_l, k_a, k_b), (scan, d, env, alphas, diffs) = levels, scanned
    n_obs = np.minimum(model.n_items[:, [p[0] for p in model.pairs]], model.n_items[:, [p[1] for p in model.pairs]]).astype(float)
    here = design(model, k_a, k_b, n_obs[:, :, None, None])
    ks = np.broadcast_to(SCAN_RATERS[None, :], (len(model.pairs), len(SCAN_RATERS)))
    more = design(model, ks, ks, n_obs[:, :, None, None])  # machines x pairs x raters x 1
    plan = facts.planning[:, :, None]
    shape = (*facts.raw_diff.shape, k_a.shape[1])
    cols: dict[str, np.ndarray] = {"observed_diff": np.broadcast_to(facts.raw_diff[:, :, None], shape)}
    cols["observed_diff_adjusted"] = np.broadcast_to(facts.adjusted_diff[:, :, None], shape)
    cols["planning_diff"] = np.broadcast_to(plan, shape)
    for key, suffix in (("family", ""), ("pair", "_per_pair")):
        items, raters = _needs(plan, scan, env[key], more, alphas[key])
        cols[f"items_for_80_power{suffix}"], cols[f"raters_for_80_power{suffix}"] = items, np.broadcast_to(raters, shape)
        cols[f"mde_observed_items{suffix}"] = detectable(np.sqrt(here.var[..., 0]), here.df[..., 0], here.crit(alphas[key])[..., 0])
    for diff in diffs:
        effect = np.full(plan.shape, float(diff))
        for key, suffix in (("family", ""), ("pair", "_per_pair")):
            items, raters = _needs(effect, scan, envelope_power(d, effect[..., None], alphas[key]), more, alphas[key])
            cols[f"items_for_80_power{suffix}_diff_{diff:g}"] = items
            cols[f"raters_for_80_power{suffix}_diff_{diff:g}"] = np.broadcast_to(raters, shape)
    cols["items_for_80_power_closed_form"] = _closed_form_items(here, plan, alphas["family"])
    cols["n_items_observed"] = np.broadcast_to(n_obs[:, :, None], shape)
    keys = {"machine": list(names), "raters_per_group": names_l, "pair": list(range(len(model.pairs)))}
    out = _frame(keys, labels, model.pairs, {k: np.transpose(v, (0, 2, 1)) for k, v in cols.items()})
    out.insert(out.columns.get_loc("items_for_80_power") + 1, "method", _methods(out))
    return out


def _closed_form_items(here: Design, plan: np.ndarray, alpha: float) -> np.ndarray:
    """Items for 80% power from the normal approximation: n = item_unit / (delta^2 / c^2 - rater part); inf when out of reach."""
    from annalign.stats.distributions import norm_ppf

    c = float(norm_ppf(1 - alpha / 2) + norm_ppf(TARGET_POWER))
    with np.errstate(invalid="ignore", divide="ignore"):
        room = plan * plan / (c * c) - here.rater[..., 0]
        n = here.item_unit[..., 0] / room
    return np.where((plan > 0) & (room > 0), n, np.inf)


def _methods(frame: pd.DataFrame) -> list[str]:
    """How each items-needed figure came about, in words."""
    out = []
    for plan, need in zip(frame["planning_diff"], frame["items_for_80_power"], strict=True):
        if not np.isfinite(plan):
            out.append("no planning difference (the interval is undefined)")
        elif plan <= 0:
            out.append("none: the interval of the adjusted difference covers 0")
        elif not np.isfinite(need):
            out.append("not reachable with these raters per group")
        else:
            out.append("model (Welch)")
    return out
