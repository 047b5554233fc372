"""RQ2, group alignment: how well each machine rater agrees with each demographic group of raters.

Per group g and machine m: Pearson r between m and the group's mean rating per item, the
reliability of the group mean (Cronbach's alpha on complete data) and the reliability-adjusted r,
the r with the group's whole population of raters. Intervals and tests are crossed by default
(``annalign.stats.crossed``): items and each group's raters are samples, so a claim about a group is
about its population of raters; ``resample="items"`` keeps them conditional on these raters. One set
of item and rater draws serves every group and machine, so differences are paired. Pairwise: the
disparity test of equal adjusted alignment (p_adjusted), a permutation test that the two groups'
raters are exchangeable (p_perm), Holm / Benjamini-Hochberg over every pair and machine; an omnibus
test asks whether any group differs. Power lives in ``annalign.analyses.group_power``, within-group
variation in ``annalign.analyses.group_variation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from annalign.analyses.base import ResultDisplay, check_level, check_resample, fmt, with_changes
from annalign.core.annotations import Annotations
from annalign.core.grouping import DEFAULT_BY, DEFAULT_MIN_GROUP_SIZE, DEFAULT_MISSING, make_groups
from annalign.core.jsonsafe import jsonable
from annalign.core.machines import MachineRatings
from annalign.core.operators import RaterMatrix, group_means, harmonic_count
from annalign.errors import InputError, warn
from annalign.stats.bootstrap import bootstrap_many, bootstrap_p, count_chunks
from annalign.stats.correlation import pearson_fixed_xs, pearson_masked
from annalign.stats.crossed import (
    RESAMPLE_SCHEMES,
    RaterBlock,
    crossfit_rater_variances,
    item_terms,
    multiplier_draws,
    on_fisher_scale,
    pooled_signal_share,
    rater_block,
    rater_perturbation,
    reliability_design,
    reliability_from_sums,
    variance_spread,
)
from annalign.stats.distributions import chi2_sf
from annalign.stats.intervals import intervals, undefined_share, usable
from annalign.stats.multitest import benjamini_hochberg, holm
from annalign.stats.permutation import permutation_p
from annalign.stats.reliability import adjusted_r

#: cells of a per-permutation (items x permutations) block.
PERM_BLOCK_CELLS = 2_000_000


# ----- result -------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class GroupResult(ResultDisplay):
    """Everything RQ2 reports; ``to_dict`` for results.json, ``tables`` for CSV files.

    ``replicates`` keeps the bootstrap replicates (n_boot, machines, groups) of r, adjusted r and
    (n_boot, groups) of the reliability, so ``confidence_interval`` gives any level at once.
    """

    settings: dict[str, Any]
    groups: pd.DataFrame
    excluded_groups: list[dict[str, Any]]
    per_group: pd.DataFrame
    pairwise: pd.DataFrame
    omnibus: pd.DataFrame
    power: pd.DataFrame | None = None
    power_items_needed: pd.DataFrame | None = None
    within_group: pd.DataFrame | None = None
    variance_share: pd.DataFrame | None = None
    rater_r: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    replicates: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Named tables (one CSV each)."""
        named = {
            "groups": self.groups,
            "per_group": self.per_group,
            "pairwise": self.pairwise,
            "omnibus": self.omnibus,
            "power": self.power,
            "power_items_needed": self.power_items_needed,
            "within_group": self.within_group,
            "variance_share": self.variance_share,
            "rater_r": self.rater_r,
        }
        return {k: v for k, v in named.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN -> None) for the "rq2" key of results.json."""
        out: dict[str, Any] = {"settings": self.settings, "excluded_groups": self.excluded_groups, "notes": self.notes}
        for name, table in self.tables().items():
            if name != "rater_r":
                out[name] = table.to_dict(orient="records")
        return jsonable(out)

    def to_frame(self) -> pd.DataFrame:
        """One row per machine and group: r, its interval, the group's reliability and the adjusted r."""
        return self.per_group

    def summary(self) -> list[str]:
        """Terminal lines: per machine, the groups it aligns with best and worst, and the omnibus test."""
        return rq2_lines(self.per_group, self.omnibus)

    def _positions(self) -> tuple[dict[str, int], dict[str, int]]:
        """Machine and group positions in the replicate arrays, by name and label."""
        machines = {str(m): k for k, m in enumerate(dict.fromkeys(self.per_group["machine"]))}
        groups = {str(g): k for k, g in enumerate(self.groups["group"])}
        return machines, groups

    def confidence_interval(self, level: float = 0.95, of: str = "groups") -> pd.DataFrame:
        """Intervals at ``level`` from the kept replicates: per machine and group (``of="groups"``) or per pair (``"pairs"``)."""
        level = check_level(level)
        if of not in ("groups", "pairs"):
            raise InputError(f"confidence_interval(of=...) must be 'groups' or 'pairs', got {of!r}")
        if not self.replicates:
            raise InputError("this RQ2 result kept no bootstrap replicates")
        m_at, g_at = self._positions()
        boot_r, boot_adj = self.replicates["r"], self.replicates["adjusted_r"]
        if of == "pairs":
            keys = self.pairwise[["machine", "group_a", "group_b"]].astype(str)
            m = keys["machine"].map(m_at).to_numpy()
            a, b = keys["group_a"].map(g_at).to_numpy(), keys["group_b"].map(g_at).to_numpy()
            lo, hi = intervals(boot_r[:, m, a] - boot_r[:, m, b], level)
            alo, ahi = intervals(boot_adj[:, m, a] - boot_adj[:, m, b], level)
            out = self.pairwise[["machine", "group_a", "group_b", "diff"]].assign(low=lo, high=hi)
            return out.assign(diff_adjusted=self.pairwise["diff_adjusted"], adjusted_low=alo, adjusted_high=ahi, level=level)
        keys = self.per_group[["machine", "group"]].astype(str)
        m, g = keys["machine"].map(m_at).to_numpy(), keys["group"].map(g_at).to_numpy()
        lo, hi = intervals(boot_r[:, m, g], level)
        alo, ahi = intervals(boot_adj[:, m, g], level)
        rlo, rhi = intervals(self.replicates["reliability"][:, g], level)
        out = self.per_group[["machine", "group", "r"]].assign(low=lo, high=hi, adjusted_r=self.per_group["adjusted_r"])
        out = out.assign(adjusted_low=alo, adjusted_high=ahi, reliability=self.per_group["reliability"])
        return out.assign(reliability_low=rlo, reliability_high=rhi, level=level)


def rq2_lines(per_group: pd.DataFrame | None, omnibus: pd.DataFrame | None) -> list[str]:
    """Terminal lines for RQ2 from its per-group and omnibus tables (none when there is no group r)."""
    if per_group is None or per_group.empty:
        return []
    scope = str(per_group["generalises_to"].iloc[0]) if "generalises_to" in per_group.columns else "items"
    lines = [f"RQ2 (r with each group's mean rating; raw and reliability-adjusted; intervals generalise to {scope})"]
    for machine, part in per_group.groupby("machine", sort=False):
        part = part.sort_values("r")
        low, high = part.iloc[0], part.iloc[-1]
        lines.append(
            f"  {machine}: lowest {low['group']} r {fmt(float(low['r']))} [{fmt(float(low['ci_low']))}, {fmt(float(low['ci_high']))}], "
            f"highest {high['group']} r {fmt(float(high['r']))} [{fmt(float(high['ci_low']))}, {fmt(float(high['ci_high']))}]"
        )
        if omnibus is not None and "p_perm" in omnibus.columns:
            row = omnibus[omnibus["machine"] == machine]
            if len(row):
                lines.append(f"    any difference among groups? permutation p {fmt(float(row['p_perm'].iloc[0]))}")
    return lines


# ----- analysis -----------------------------------------------------------------------------
def correlations_with(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n_machines, n_groups) Pearson r of each machine column with each group column."""
    return np.stack([pearson_masked(x[:, m][:, None], y) for m in range(x.shape[1])])


def permutation_pair_diffs(
    rm: RaterMatrix, x: np.ndarray, members_a: np.ndarray, members_b: np.ndarray, n_perm: int, rng: np.random.Generator
) -> np.ndarray:
    """r_A - r_B (n_perm, n_machines) with the raters of A and B shuffled between them, sizes kept."""
    idx = np.concatenate([members_a, members_b])
    sub = rm.columns(idx)
    size, k_a = len(idx), len(members_a)
    tot_s, tot_c = sub.sums(np.ones((size, 1)))
    out = np.empty((n_perm, x.shape[1]))
    per_block = max(1, PERM_BLOCK_CELLS // max(rm.shape[0], 1))
    start = 0
    while start < n_perm:
        p = min(per_block, n_perm - start)
        ranks = np.argsort(rng.random((size, p)), axis=0)
        z = (ranks < k_a).astype(float)
        if sub.complete and 0 < k_a < size:  # every item has every rater: the counts are k_a and size - k_a
            s_a = sub.totals(z)
            y_a, y_b = s_a / k_a, (tot_s - s_a) / (size - k_a)
        else:
            s_a, c_a = sub.sums(z)
            with np.errstate(invalid="ignore", divide="ignore"):
                y_a = np.where(c_a > 0, s_a / c_a, np.nan)
                c_b = tot_c - c_a
                y_b = np.where(c_b > 0, (tot_s - s_a) / c_b, np.nan)
        out[start : start + p] = (pearson_fixed_xs(x, y_a) - pearson_fixed_xs(x, y_b)).T
        start += p
    return out


def spread_statistic(r: np.ndarray) -> np.ndarray:
    """Omnibus statistic: SD across groups of Fisher-z transformed r (last axis = groups)."""
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    with np.errstate(invalid="ignore"):
        return np.nanstd(z, axis=-1, ddof=1)


def permutation_group_r(
    rm: RaterMatrix, x: np.ndarray, code: np.ndarray, n_groups: int, n_perm: int, rng: np.random.Generator
) -> np.ndarray:
    """Per-group r (n_perm, n_machines, n_groups) with all group labels shuffled across raters, sizes kept."""
    out = np.empty((n_perm, x.shape[1], n_groups))
    per_block = max(1, PERM_BLOCK_CELLS // max(rm.shape[0] * n_groups, 1))
    start = 0
    while start < n_perm:
        p = min(per_block, n_perm - start)
        labels = np.stack([rng.permutation(code) for _ in range(p)], axis=1)  # raters x p
        w = np.zeros((len(code), p * n_groups))
        w[np.arange(len(code))[:, None], labels + n_groups * np.arange(p)[None, :]] = 1.0
        y, _ = rm.means(w)
        out[start : start + p] = pearson_fixed_xs(x, y).reshape(x.shape[1], p, n_groups).transpose(1, 0, 2)
        start += p
    return out


#: Above this many (ratings x group pairs), the pairwise permutation tests (p_perm) are not run.
PAIR_PERMUTATION_LIMIT = 20_000_000
#: the permutation_scheme setting when they are not run
NO_PAIR_PERMUTATIONS = "none: ratings x pairs above 20 million (p_perm per pair not computed)"


def pair_permutations(n_ratings: int, n_pairs: int, n_perm: int) -> int:
    """Permutations per pair: ``n_perm`` up to the limit, 0 beyond it (each pair's shuffles cost its ratings x permutations).

    Every pair is shuffled on its own raters. The cheap 'global' reading used before above the limit
    (each pair's difference off permutations of all groups' labels) mixed the other groups' raters
    into the pair's null: a real A-B difference was found far less often when a third group differed
    (tests/groups/test_power_model.py::test_the_old_global_permutations_lose_the_pair_power), so it is gone;
    on 1,000,000 ratings in 10 groups the per-pair shuffles would take minutes, so p_perm is left out there
    (the disparity test p_adjusted and the omnibus permutation test are unaffected).
    """
    return n_perm if n_ratings * max(n_pairs, 1) <= PAIR_PERMUTATION_LIMIT else 0


def wald_omnibus(estimates: np.ndarray, replicates: np.ndarray) -> tuple[float, int, float]:
    """Chi-square test that all groups share one value, with the bootstrap covariance: (chi2, df, p)."""
    ok = np.isfinite(estimates)
    reps = replicates[:, ok]
    reps = reps[np.isfinite(reps).all(axis=1)]
    g = int(ok.sum())
    if g < 2 or len(reps) < 10 * g:
        return float("nan"), max(g - 1, 0), float("nan")
    contrast = np.hstack([np.eye(g - 1), -np.ones((g - 1, 1))])
    d = contrast @ estimates[ok]
    cov = contrast @ np.cov(reps, rowvar=False) @ contrast.T
    chi2 = float(d @ np.linalg.pinv(cov) @ d)
    return chi2, g - 1, float(chi2_sf(chi2, g - 1))


@dataclass(frozen=True)
class GroupAlignmentConfig:
    """RQ2's settings: resampling, grouping rules, power grid and within-group variation (keywords of analyze_groups)."""

    n_boot: int = 1000
    seed: int = 0
    level: float = 0.95
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    missing_attr: str = DEFAULT_MISSING
    n_splits: int = 10
    n_perm: int = 1000
    power_items: Sequence[int] | None = (350, 1000, 3000, 10000)
    power_raters: Sequence[int] | None = None
    #: item-bootstrap draws that fit the power model's item part (power is computed, not simulated)
    power_sims: int = 1000
    #: true differences in adjusted r that the power table gives a column each for
    power_diffs: Sequence[float] = (0.05, 0.1, 0.15, 0.2)
    alpha: float = 0.05
    noise_boot: int = 200
    #: "crossed": items and each group's raters are samples (the claims are about groups);
    #: "items": items only, conditional on these raters (the scheme before annalign 0.3)
    resample: str = "crossed"

    def but(self, **changes: Any) -> GroupAlignmentConfig:
        """A copy with some settings changed; an unknown name is a one-line error."""
        return with_changes(self, changes, "RQ2")


@dataclass(frozen=True)
class _Estimates:
    """The point estimates and bootstrap replicates every RQ2 table is read from."""

    r: np.ndarray
    adj: np.ndarray
    rel: np.ndarray
    k_eff: np.ndarray
    n_items: np.ndarray
    boot_r: np.ndarray
    boot_adj: np.ndarray
    boot_rel: np.ndarray
    #: (machines, groups): each group's rater variance of the adjusted r (the crossed rater part; 0 for "items")
    rater_var: np.ndarray | None = None
    blocks: list[RaterBlock] = field(default_factory=list)


def analyze_groups(
    data: Annotations,
    machines: MachineRatings,
    by: str | Sequence[str] = DEFAULT_BY,
    config: GroupAlignmentConfig | None = None,
    **settings: Any,
) -> GroupResult:
    """Run RQ2 for every machine rater: per-group r, disparities, power and within-group variation.

    ``settings`` are GroupAlignmentConfig fields overriding ``config`` (``n_boot=10_000``, ...).
    """
    from annalign.analyses.group_variation import within_group_variation

    cfg = (config or GroupAlignmentConfig()).but(**settings)
    if not data.has_raters:
        raise InputError(f"data set {data.name} has no rater identities; group alignment (RQ2) needs rater-level ratings")
    if machines is None or machines.n_machines == 0:
        raise InputError("RQ2 needs at least one machine rater (--ratings FILE)")
    if cfg.n_boot < 0 or cfg.n_perm < 0 or cfg.n_splits < 1:
        raise InputError("--bootstrap and permutations must be >= 0 and splits >= 1")
    check_resample(cfg.resample)
    grouping = make_groups(data.raters, by, min_group_size=cfg.min_group_size, missing_attr=cfg.missing_attr)
    sub = data.select_raters(grouping.kept)
    kept = grouping.of_kept()
    x, names = machines.scores, machines.names
    rm = RaterMatrix.of(sub)
    y, count = group_means(sub, kept.code, grouping.n_groups)
    est = _estimate(rm, sub, x, y, count, kept.code, grouping.n_groups, cfg)
    pairs = list(combinations(range(grouping.n_groups), 2))
    pairwise, perm_r, perm_scheme = _pairwise(rm, sub, x, y, est, grouping, pairs, names, cfg)
    settings_out = _settings(grouping, sub, cfg, perm_scheme)
    power = power_needed = None
    if cfg.power_items:
        power, power_needed = _power(est, x, grouping, names, pairs, pairwise, cfg)
        settings_out.update({"power_items": list(cfg.power_items), "power_raters": list(cfg.power_raters or []), "power_sims": cfg.power_sims,
                             "power_alpha_family": cfg.alpha / max(len(pairs) * len(names), 1), "power_diffs": list(cfg.power_diffs)})
    within, share, rater_r = within_group_variation(sub, x, kept, names, n_perm=cfg.n_perm, noise_boot=cfg.noise_boot, seed=cfg.seed)
    for reps in (est.boot_r, est.boot_adj, est.boot_rel):
        reps.setflags(write=False)
    groups_table = pd.DataFrame(
        [{"group": lab, **grouping.attrs[g], "n_raters": int(grouping.sizes[g])} for g, lab in enumerate(grouping.labels)]
    )
    return GroupResult(
        settings=settings_out,
        groups=groups_table,
        excluded_groups=grouping.excluded,
        per_group=_per_group_table(est, grouping, names, cfg.level, cfg.resample),
        pairwise=pairwise,
        omnibus=_omnibus_table(est, perm_r, names, grouping.n_groups, cfg.n_perm),
        power=power,
        power_items_needed=power_needed,
        within_group=within,
        variance_share=share,
        rater_r=rater_r,
        notes=list(NOTES),
        replicates={"r": est.boot_r, "adjusted_r": est.boot_adj, "reliability": est.boot_rel},
    )


def _estimate(
    rm: RaterMatrix, sub: Annotations, x: np.ndarray, y: np.ndarray, count: np.ndarray, code: np.ndarray, n_groups: int,
    cfg: GroupAlignmentConfig,
) -> _Estimates:  # fmt: skip
    """Per machine and group: r, reliability, adjusted r, and their paired replicates (crossed or item-only)."""
    n_machines = x.shape[1]
    r = correlations_with(x, y)
    n_items = np.stack([(np.isfinite(x[:, m][:, None]) & np.isfinite(y)).sum(axis=0) for m in range(n_machines)])
    k_eff = harmonic_count(count, count > 0)
    members = [np.flatnonzero(code == g) for g in range(n_groups)]
    blocks = [rater_block(part.vals, part.mask) for part in (rm.columns(idx) for idx in members)]
    designs = np.concatenate([reliability_design(item_terms(b, np.ones((1, b.n_raters)))) for b in blocks], axis=1)
    rel = reliability_from_sums(designs.sum(axis=0).reshape(n_groups, 6))
    adj = adjusted_r(r, rel[None, :])
    xs = np.repeat(x, n_groups, axis=1)
    ys = np.tile(y, (1, n_machines))
    (boot_r,) = bootstrap_many([(xs, ys)], sub.n_items, cfg.n_boot, cfg.seed)
    boot_r = boot_r.reshape(cfg.n_boot, n_machines, n_groups)
    boot_rel = np.empty((cfg.n_boot, n_groups))
    for sl, counts in count_chunks(sub.n_items, cfg.n_boot, cfg.seed):
        boot_rel[sl] = reliability_from_sums((counts @ designs).reshape(-1, n_groups, 6))
    rater_var = np.zeros((n_machines, n_groups))
    if cfg.resample == "crossed" and (cfg.n_boot or cfg.power_items):
        parts, share = _rater_parts(x, blocks, members, cfg)
        rater_var = _adjusted_rater_variance(parts, share, n_machines)
    est = _Estimates(r, adj, rel, k_eff, n_items, boot_r, adjusted_r(boot_r, boot_rel[:, None, :]), boot_rel, rater_var, blocks)
    if cfg.resample == "crossed" and cfg.n_boot:
        _add_rater_direction(est, parts, share, members, cfg)
    return est


def _rater_parts(x: np.ndarray, blocks: list[RaterBlock], members: list[np.ndarray], cfg: GroupAlignmentConfig) -> tuple[list, np.ndarray]:
    """Per group the cross-fitted rater variances (full gradients, clean, jackknife) and the signal share pooled over groups."""
    xz, xvalid = np.nan_to_num(x), np.isfinite(x).astype(float)
    rng = np.random.default_rng([cfg.seed, 8])
    parts = [crossfit_rater_variances(block, xz, xvalid, cfg.n_splits, rng) for block in blocks]
    share = pooled_signal_share(np.stack([p[1] for p in parts]), np.stack([p[2] for p in parts]), np.array([len(m) for m in members]))
    return parts, share


def _adjusted_rater_variance(parts: list, share: np.ndarray, n_machines: int) -> np.ndarray:
    """(machines, groups): the variance of each group's rater part of the adjusted r (before its t spread), k/(k-1) sum_j (g_j^2) x share."""
    out = []
    for full, _, _ in parts:
        k = full.shape[0]
        out.append(k / max(k - 1, 1) * (full[:, n_machines + 1 :] ** 2).sum(axis=0) * share[n_machines + 1 :])
    return np.stack(out, axis=1)


def _add_rater_direction(est: _Estimates, parts: list, share: np.ndarray, members: list[np.ndarray], cfg: GroupAlignmentConfig) -> None:
    """Add each group's rater part (jackknife influences x pooled signal share x multipliers) to the item replicates, in place.

    r and adjusted r take it on the Fisher-z scale, where their sampling distribution is close to
    symmetric: a group mean's r is skewed toward lower values when its raters happen to be atypical.
    """
    n_machines = est.r.shape[0]
    multipliers = multiplier_draws(cfg.n_boot, int(sum(len(m) for m in members)), cfg.seed)
    for g, ((full, _, _), idx) in enumerate(zip(parts, members, strict=True)):
        spread = variance_spread(cfg.n_boot, len(idx), cfg.seed, g)
        delta = rater_perturbation(multipliers[:, idx], full * np.sqrt(share)[None, :], spread)
        est.boot_r[:, :, g] = on_fisher_scale(est.boot_r[:, :, g], delta[:, :n_machines], est.r[:, g])
        est.boot_rel[:, g] += delta[:, n_machines]
        est.boot_adj[:, :, g] = on_fisher_scale(est.boot_adj[:, :, g], delta[:, n_machines + 1 :], est.adj[:, g])


def _power(
    est: _Estimates, x: np.ndarray, grouping: Any, names: Sequence[str], pairs: list[tuple[int, int]], pairwise: pd.DataFrame,
    cfg: GroupAlignmentConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The power tables of the disparity test, from the variance components fitted to these data (``group_power``)."""
    from annalign.analyses.group_power import (
        PairFacts,
        PowerGrid,
        fit_power_model,
        planning_difference,
        power_analysis,
    )

    grid = PowerGrid(cfg.power_items, cfg.power_raters, cfg.power_sims, cfg.alpha, cfg.seed, tuple(cfg.power_diffs))
    a = np.array([p[0] for p in pairs], dtype=int)
    b = np.array([p[1] for p in pairs], dtype=int)
    if np.isclose(cfg.level, 1 - cfg.alpha) and len(pairwise):  # the pairwise intervals already are at 1 - alpha
        low = pairwise["adjusted_ci_low"].to_numpy(dtype=float).reshape(len(pairs), len(names)).T
        high = pairwise["adjusted_ci_high"].to_numpy(dtype=float).reshape(len(pairs), len(names)).T
    else:
        low, high = intervals(est.boot_adj[:, :, a] - est.boot_adj[:, :, b], 1 - cfg.alpha)
    facts = PairFacts(est.r[:, a] - est.r[:, b], est.adj[:, a] - est.adj[:, b], planning_difference(low, high))
    model = fit_power_model(est.blocks, x, est.n_items, est.rater_var, pairs, grid)
    return power_analysis(model, names, grouping.labels, facts, grid)


def _per_group_table(est: _Estimates, grouping: Any, names: Sequence[str], level: float, scheme: str) -> pd.DataFrame:
    """One row per machine and group: r, reliability and adjusted r with their intervals."""
    lo, hi = intervals(est.boot_r, level)
    alo, ahi = intervals(est.boot_adj, level)
    rel_lo, rel_hi = intervals(est.boot_rel, level)
    missing = undefined_share(est.boot_adj)
    _warn_unusable(est, grouping, names)
    rows = []
    for m, g in np.ndindex(len(names), grouping.n_groups):
        rows.append(
            {
                "machine": names[m],
                "group": grouping.labels[g],
                **grouping.attrs[g],
                "n_raters": int(grouping.sizes[g]),
                "raters_per_item": float(est.k_eff[g]),
                "n_items": int(est.n_items[m, g]),
                "r": float(est.r[m, g]),
                "ci_low": float(lo[m, g]),
                "ci_high": float(hi[m, g]),
                "reliability": float(est.rel[g]),
                "reliability_ci_low": float(rel_lo[g]),
                "reliability_ci_high": float(rel_hi[g]),
                "adjusted_r": float(est.adj[m, g]),
                "adjusted_ci_low": float(alo[m, g]),
                "adjusted_ci_high": float(ahi[m, g]),
                "adjusted_above_1": bool(est.adj[m, g] > 1),
                "adjusted_undefined_share": float(missing[m, g]),
                "generalises_to": RESAMPLE_SCHEMES[scheme],
            }
        )
    return pd.DataFrame(rows)


def _warn_unusable(est: _Estimates, grouping: Any, names: Sequence[str]) -> None:
    """One warning per machine and group whose adjusted-r interval is withheld for lack of defined replicates."""
    if est.boot_adj.shape[0] == 0:
        return
    ok = usable(est.boot_adj)
    for m, g in zip(*np.nonzero(~ok & np.isfinite(est.adj)), strict=True):
        share = float(undefined_share(est.boot_adj)[m, g])
        warn(f"RQ2 {names[m]} with {grouping.labels[g]}: {share:.0%} of the replicates of the adjusted r are undefined "
             "(the group's reliability is <= 0 in them); no interval is given")


def _pairwise(
    rm: RaterMatrix, sub: Annotations, x: np.ndarray, y: np.ndarray, est: _Estimates, grouping: Any,
    pairs: list[tuple[int, int]], names: Sequence[str], cfg: GroupAlignmentConfig,
) -> tuple[pd.DataFrame, np.ndarray, str]:  # fmt: skip
    """Every pair of groups per machine: raw and adjusted differences, intervals, p-values and their adjustments."""
    from annalign.analyses.delta_tests import delta_pair_tests

    n_machines, n_groups, code = x.shape[1], grouping.n_groups, grouping.of_kept().code
    pair_rngs = [np.random.default_rng(s) for s in np.random.SeedSequence([cfg.seed, 3]).spawn(len(pairs) + 1)]
    delta_p = delta_pair_tests(x, y, pairs)
    per_pair = pair_permutations(sub.n_ratings, len(pairs), cfg.n_perm)
    perm_scheme = "pair" if per_pair or not cfg.n_perm else NO_PAIR_PERMUTATIONS
    perm_r = (
        permutation_group_r(rm, x, code, n_groups, cfg.n_perm, pair_rngs[-1]) if cfg.n_perm else np.zeros((0, n_machines, n_groups))
    )
    rows = []
    for j, (a, b) in enumerate(pairs):
        if not per_pair:
            d_perm = np.zeros((0, n_machines))
        else:
            d_perm = permutation_pair_diffs(rm, x, np.flatnonzero(code == a), np.flatnonzero(code == b), per_pair, pair_rngs[j])
        rows.extend(_pair_rows(est, grouping, names, (a, b), d_perm, delta_p[:, j], cfg))
    pairwise = pd.DataFrame(rows)
    for column in ("p_perm", "p_adjusted"):  # over every pair and machine: the whole family a reader scans
        if len(pairwise):
            pairwise[f"{column}_holm"] = holm(pairwise[column].to_numpy())
            pairwise[f"{column}_bh"] = benjamini_hochberg(pairwise[column].to_numpy())
    return pairwise, perm_r, perm_scheme


def _pair_rows(
    est: _Estimates, grouping: Any, names: Sequence[str], pair: tuple[int, int], d_perm: np.ndarray, delta_p: np.ndarray,
    cfg: GroupAlignmentConfig,
) -> list[dict[str, Any]]:  # fmt: skip
    """The rows of one pair of groups (one per machine)."""
    (a, b), level = pair, cfg.level
    d = est.r[:, a] - est.r[:, b]
    p_perm = permutation_p(d, d_perm, centre=True)
    d_boot = est.boot_r[:, :, a] - est.boot_r[:, :, b]
    d_adj = est.adj[:, a] - est.adj[:, b]
    d_adj_boot = est.boot_adj[:, :, a] - est.boot_adj[:, :, b]
    dlo, dhi = intervals(d_boot, level)
    adlo, adhi = intervals(d_adj_boot, level)
    p_raw, p_adj = bootstrap_p(d_boot), bootstrap_p(d_adj_boot)
    tost_lo, tost_hi = intervals(d_adj_boot, 1 - 2 * cfg.alpha)
    bound = np.maximum(np.abs(tost_lo), np.abs(tost_hi))
    return [
        {
            "machine": names[m],
            "group_a": grouping.labels[a],
            "group_b": grouping.labels[b],
            "n_raters_a": int(grouping.sizes[a]),
            "n_raters_b": int(grouping.sizes[b]),
            "diff": float(d[m]),
            "ci_low": float(dlo[m]),
            "ci_high": float(dhi[m]),
            "p_perm": float(p_perm[m]),
            "p_boot": float(p_raw[m]),
            "p_delta": float(delta_p[m]),
            "diff_adjusted": float(d_adj[m]),
            "adjusted_ci_low": float(adlo[m]),
            "adjusted_ci_high": float(adhi[m]),
            "p_adjusted": float(p_adj[m]),
            "equivalence_bound": float(bound[m]),
        }
        for m in range(len(names))
    ]


def _omnibus_table(est: _Estimates, perm_r: np.ndarray, names: Sequence[str], n_groups: int, n_perm: int) -> pd.DataFrame:
    """Per machine: do the groups differ at all? (permutation test of the spread; Wald test of the adjusted r)."""
    omni_obs = spread_statistic(est.r)
    omni_perm = spread_statistic(perm_r) if n_perm else np.zeros((0, len(names)))
    omni_p = permutation_p(omni_obs, omni_perm, centre=False)
    rows = []
    for m in range(len(names)):
        chi2, df, p_wald = wald_omnibus(est.adj[m], est.boot_adj[:, m, :])
        rows.append(
            {
                "machine": names[m],
                "n_groups": n_groups,
                "sd_fisher_z": float(omni_obs[m]),
                "p_perm": float(omni_p[m]),
                "adjusted_chi2": chi2,
                "adjusted_df": df,
                "p_adjusted": p_wald,
            }
        )
    return pd.DataFrame(rows)


def _settings(grouping: Any, sub: Annotations, cfg: GroupAlignmentConfig, perm_scheme: str) -> dict[str, Any]:
    """The "settings" block of the RQ2 results (what was asked for and what the data held)."""
    return {
        "by": list(grouping.by),
        "n_boot": cfg.n_boot,
        "seed": cfg.seed,
        "level": cfg.level,
        "min_group_size": cfg.min_group_size,
        "missing_attr": cfg.missing_attr,
        "n_splits": cfg.n_splits,
        "resample": cfg.resample,
        "generalises_to": RESAMPLE_SCHEMES[cfg.resample],
        "n_perm": cfg.n_perm,
        "permutation_scheme": perm_scheme,
        "alpha": cfg.alpha,
        "n_raters": int(grouping.kept.sum()),
        "n_items": int(sub.n_items),
        "n_ratings": int(sub.n_ratings),
        "missing_attribute_counts": grouping.n_missing,
    }


NOTES = [
    "r: Pearson r between the machine and the group's mean rating per item. CI (resample 'crossed', the default): "
    "items and each group's raters are both samples, so the interval is about the group, a population of raters: "
    "the item bootstrap (one set of resampled items for all groups and machines, paired) plus each group's rater "
    "part, the infinitesimal jackknife over its raters cross-fitted on random halves of the items (so the item x "
    "rater noise is not counted twice) with the signal share pooled over groups, drawn as Gaussian multipliers "
    "shared by all machines (paired) and scaled by a t with raters - 1 degrees of freedom. Resample 'items' keeps "
    "the item bootstrap alone: conditional on these raters (generalises_to says which).",
    "reliability: of the group mean, 1 - within-item variance of rater-centred ratings x mean(1 / raters per item) "
    "/ variance of the mean; with every item rated by every rater it is Cronbach's alpha (ICC(C,k)), the mean of "
    "all split-half coefficients. adjusted_r = r / sqrt(reliability), the r with the group's whole population of "
    "raters; adjusted_above_1 flags an estimate above 1 (noise, or a machine close to the group mean).",
    "p_adjusted: the disparity test, whose null is equal reliability-adjusted alignment: the paired replicates of "
    "the adjusted difference (crossed by default), two-sided. p_perm: group labels permuted between the two groups' "
    "raters (sizes kept): a test that the two groups' raters are exchangeable, which also rejects when the groups "
    "see different things while the machine aligns equally with both. p_boot: the raw difference (biased when group "
    "sizes differ). p_delta: Wald test of the raw difference with the item-level variance, conditional on these "
    "raters (used for power). _holm and _bh adjust over every pair and machine together. Bootstrap p-values count "
    "a tail as (m + 1) / (B + 1), so none is below 2 / (B + 1).",
    "equivalence_bound: the largest adjusted difference the data do not rule out (TOST at alpha: the larger end, in "
    "absolute value, of the 1 - 2 alpha interval of the adjusted difference): any disparity beyond it is excluded.",
    "adjusted_undefined_share: replicates where the group's reliability is <= 0, so its adjusted r is undefined; "
    "with more than half undefined (or fewer than 20 defined) no interval is given, with a warning.",
    "permutation_scheme 'pair': every pair's p_perm shuffles the raters of that pair only; above 20 million ratings x "
    "pairs p_perm per pair is not computed (scheme 'none: ...'): reading pairs off permutations of all groups' labels "
    "would mix the other groups' raters into each pair's null.",
    "power: the disparity test's power from a variance-components model fitted to these data (item part scaling "
    "as 1 / items, its item x rater noise as 1 / raters per item, each group's rater part as 1 / raters), Welch "
    "degrees of freedom; 'power' is at the planning difference (the end of the pair's 1 - alpha interval of the "
    "adjusted difference nearest 0: 0 when it covers 0, so noise is not planned for) and the family alpha "
    "(alpha / (pairs x machines): Holm's first step), power_per_pair at alpha; power_diff_D at a true difference D; "
    "mde: the true difference detected with 80% power. power_closed_form: the normal approximation of 'power'. "
    "power_sims is not used (power is computed, not simulated). With up to n items: the running maximum.",
    "omnibus: p_perm for the SD of Fisher-z r across groups with all labels permuted; p_adjusted: chi-square test "
    "that all adjusted r are equal, with the covariance of their (crossed by default) replicates.",
]
