"""Reliability of a mean over raters: random split halves, the Spearman-Brown step-up, disattenuation.

Since issue 11 RQ2 (reliability of a group's mean rating) and RQ3 (of the difference between two
groups' means) share the variance-component estimator of ``stats.crossed`` (Cronbach's alpha on
complete data, the mean of all split-half coefficients) instead of random split halves;
``split_halves`` and ``spearman_brown`` remain for callers and checks of that equivalence.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

#: How ``split_halves`` draws from the random stream (both give uniformly random halves).
Draw = Literal["ranks", "shuffle"]


def split_halves(codes: np.ndarray, n_splits: int, rng: np.random.Generator, *, draw: Draw = "ranks") -> np.ndarray:
    """Random halves within each group: (n_splits, n_raters), 0 = first half, 1 = second, -1 = no group.

    The first half of a group of n raters has floor(n / 2) of them. ``draw="ranks"`` gives every
    rater one uniform key per split and halves each group by rank (vectorised; RQ3);
    ``draw="shuffle"`` permutes each group's members once per split, group by group, split by
    split (RQ2's order). The two differ only in how they consume ``rng``; each is kept so that
    results recorded with a seed stay reproducible.
    """
    codes = np.asarray(codes)
    half = np.full((n_splits, len(codes)), -1, dtype=np.int64)
    groups = np.unique(codes[codes >= 0])
    if draw == "ranks":
        keys = rng.random((n_splits, len(codes)))
        for g in groups:
            members = np.flatnonzero(codes == g)
            ranks = np.argsort(np.argsort(keys[:, members], axis=1), axis=1)
            half[:, members] = ranks >= len(members) // 2
    elif draw == "shuffle":
        for g in groups:
            members = np.flatnonzero(codes == g)
            for s in range(n_splits):
                order = rng.permutation(members)
                half[s, order[: len(members) // 2]] = 0
                half[s, order[len(members) // 2 :]] = 1
    else:
        raise ValueError(f"unknown draw {draw!r}: use 'ranks' or 'shuffle'")
    return half


def single_rater_reliability(r_half: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """Single-rater reliability rho1 from the correlation of two half means of k1 and k2 raters.

    Under the Spearman-Brown model rel(k) = k rho / (1 + (k - 1) rho) and corr(half1, half2) =
    sqrt(rel(k1) rel(k2)); solving that quadratic handles unequal (odd-sized) halves exactly and
    reduces to the classical 2r / (1 + r) step-up when k1 == k2. Negative r gives negative rho.
    """
    r = np.asarray(r_half, dtype=float)
    k1 = np.asarray(k1, dtype=float)
    k2 = np.asarray(k2, dtype=float)
    r2 = r * r
    a = k1 * k2 - r2 * (k1 - 1) * (k2 - 1)
    b = -r2 * (k1 + k2 - 2)
    c = -r2
    with np.errstate(invalid="ignore", divide="ignore"):
        root = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return np.sign(r) * root


def spearman_brown(rho: np.ndarray | float, k: np.ndarray | float = 2) -> np.ndarray:
    """Reliability of k parallel parts from the reliability (or correlation) rho of one: k rho / (1 + (k - 1) rho).

    With the default k = 2 this is the classical step-up 2r / (1 + r) of a split-half correlation r.
    NaN where the denominator is not positive (rho <= -1 / (k - 1)).
    """
    rho = np.asarray(rho, dtype=float)
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = 1 + (k - 1) * rho
        rel = k * rho / denom
    return np.where(denom > 0, rel, np.nan)


def splithalf_reliability(r_half: np.ndarray, k1: np.ndarray, k2: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Reliability of a k-rater mean from split-half correlations (last axis = splits, averaged)."""
    rel = spearman_brown(single_rater_reliability(r_half, k1, k2), k)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(rel)
        count = finite.sum(axis=-1)
        total = np.where(finite, rel, 0.0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def adjusted_r(r: np.ndarray, reliability: np.ndarray) -> np.ndarray:
    """Reliability-adjusted (disattenuated) r = r / sqrt(reliability); NaN where reliability <= 0."""
    rel = np.asarray(reliability, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rel > 0, np.asarray(r, dtype=float) / np.sqrt(np.where(rel > 0, rel, 1.0)), np.nan)
