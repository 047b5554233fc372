"""Within-group variation: each rater's r with the machine, its spread per group, and how much is noise.

The per-rater r vary within a group both because raters differ and because each r rests on a finite
set of items. The spread item sampling alone would give is the bootstrap expectation of the
within-group variance of the replicate errors r*_j - r_j: the raters of a group rate the same items,
so their errors are correlated (0.08-0.19 on DICES), and the mean of the per-rater variances would
overstate it by 10-20%. Subtracting it from the observed within-group variance estimates the real
spread. A one-way random-effects decomposition
splits the per-rater r into between- and within-group variance, with a permutation null.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.grouping import Grouping
from annalign.stats.anova import anova_f, random_effects_share
from annalign.stats.bootstrap import grouped_pearson_replicates
from annalign.stats.correlation import grouped_pearson
from annalign.stats.crossed import sampling_variance
from annalign.stats.permutation import permutation_p


def rater_r_replicates(data: Annotations, x: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Item-bootstrap replicates (n_boot, n_raters) of each rater's r with machine scores x (per item)."""
    xe = x[data.item_index]
    keep = np.isfinite(xe)
    return grouped_pearson_replicates(
        data.rater_index[keep], data.item_index[keep], xe[keep], data.values[keep], (data.n_raters, data.n_items), n_boot, seed
    )


def within_group_variation(
    data: Annotations,
    x: np.ndarray,
    grouping: Grouping,
    names: Sequence[str],
    *,
    n_perm: int = 1000,
    noise_boot: int = 200,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-group spread table, between-group share table, per-rater r table) for every machine.

    ``grouping`` covers the raters of ``data`` (``Grouping.of_kept``): every rater is in a group.
    """
    code, labels = grouping.code, grouping.labels
    n_groups = len(labels)
    rng = np.random.default_rng([seed, 5])
    group_rows, share_rows, rater_frames = [], [], []
    for m, name in enumerate(names):
        xm = x[:, m]
        r, n = grouped_pearson(data.rater_index, xm[data.item_index], data.values, data.n_raters)
        reps = rater_r_replicates(data, xm, noise_boot, seed) if noise_boot > 1 else np.full((0, data.n_raters), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            noise_var = np.nanvar(reps, axis=0, ddof=1) if len(reps) > 1 else np.full(data.n_raters, np.nan)
        rater_frames.append(
            pd.DataFrame(
                {
                    "machine": name,
                    "rater_id": data.rater_ids,
                    "group": np.asarray(labels, dtype=object)[code],
                    "r": r,
                    "n_items": n.astype(int),
                    "sampling_sd": np.sqrt(noise_var),
                }
            )
        )
        ok = np.isfinite(r)
        for g, label in enumerate(labels):
            sel = ok & (code == g)
            group_rows.append({"machine": name, "group": label, **_spread(r[sel], sampling_variance(reps[:, sel], r[sel]))})
        share_rows.append({"machine": name, **_between_share(r[ok], code[ok], n_groups, n_perm, rng)})
    return pd.DataFrame(group_rows), pd.DataFrame(share_rows), pd.concat(rater_frames, ignore_index=True)


def _spread(r: np.ndarray, noise: float) -> dict[str, float | int]:
    """Mean, SD, range of per-rater r, the SD item sampling alone gives, and the SD left over."""
    k = len(r)
    sd = float(np.std(r, ddof=1)) if k > 1 else float("nan")
    real = float(np.sqrt(max(0.0, sd**2 - noise))) if np.isfinite(sd) and np.isfinite(noise) else float("nan")
    return {
        "n_raters": k,
        "mean_r": float(np.mean(r)) if k else float("nan"),
        "sd_r": sd,
        "min_r": float(np.min(r)) if k else float("nan"),
        "max_r": float(np.max(r)) if k else float("nan"),
        "sampling_sd": float(np.sqrt(noise)) if np.isfinite(noise) else float("nan"),
        "real_sd": real,
        "sampling_share": float(min(1.0, noise / sd**2)) if np.isfinite(noise) and sd > 0 else float("nan"),
    }


def _between_share(r: np.ndarray, groups: np.ndarray, n_groups: int, n_perm: int, rng: np.random.Generator) -> dict[str, float]:
    """Between-group share of the per-rater r variance, with a permutation p-value (labels shuffled)."""
    if len(r) <= n_groups:
        return {"between_share": float("nan"), "between_var": float("nan"), "within_var": float("nan"), "p_perm": float("nan")}
    share, var_b, var_w = random_effects_share(r, groups, n_groups)
    f_obs = anova_f(r[None, :], groups[None, :], n_groups)[0][0]
    p = float("nan")
    if n_perm:
        perms = np.argsort(rng.random((n_perm, len(r))), axis=1)
        f_perm = anova_f(np.broadcast_to(r, perms.shape), groups[perms], n_groups)[0]
        p = float(permutation_p(f_obs, f_perm, alternative="greater"))
    return {"between_share": share, "between_var": var_b, "within_var": var_w, "f": float(f_obs), "p_perm": p}
