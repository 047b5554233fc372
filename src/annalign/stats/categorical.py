"""Agreement statistics for nominal tasks: accuracy and Cohen's kappa against the majority and against each human.

Every statistic compares one *candidate* (a machine, or one human) with the *other* humans of
each item, so a machine and a left-out human are scored the same way:
- against the majority: the candidate's label vs the modal label of the others (ties share
  the credit: with k tied modes each counts 1/k, the "soft majority"); Cohen's kappa uses the
  candidate's label shares and the soft majority's shares for chance agreement (with no ties
  this is exactly Cohen's kappa of the candidate against the majority label);
- against each human: every (item, other human) pair counts once (pooled pairs); kappa is
  Cohen's kappa of the stacked pairs, so chance agreement uses the candidate's and the others'
  label shares over those pairs.
Written by hand: scikit-learn's cohen_kappa_score takes two label vectors, not "one candidate
against a varying set of others per item", and looping it over raters and replicates would be
quadratic; here every rater and replicate is a grouped sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annalign.stats.bootstrap import count_chunks

STATISTICS = ("accuracy_majority", "kappa_majority", "accuracy_pairs", "kappa_pairs")


@dataclass(frozen=True)
class CodedRatings:
    """Human ratings as category codes 0..C-1 with the item x category count table."""

    item: np.ndarray
    rater: np.ndarray
    code: np.ndarray
    n_items: int
    n_raters: int
    categories: np.ndarray
    table: np.ndarray  # (n_items, C) counts

    @classmethod
    def of(cls, item: np.ndarray, rater: np.ndarray, value: np.ndarray, n_items: int, n_raters: int) -> CodedRatings:
        """Code the finite ratings by their distinct values (sorted)."""
        keep = np.isfinite(value)
        categories, code = np.unique(value[keep], return_inverse=True)
        item, rater = item[keep], rater[keep]
        table = np.zeros((n_items, len(categories)))
        np.add.at(table, (item, code), 1.0)
        return cls(item, rater, code, n_items, n_raters, categories, table)

    def codes_of(self, scores: np.ndarray) -> np.ndarray:
        """Category code per item of a machine's scores; C for a label no human used, -1 for missing."""
        c = len(self.categories)
        out = np.full(len(scores), -1, dtype=int)
        finite = np.isfinite(scores)
        pos = np.clip(np.searchsorted(self.categories, scores[finite]), 0, max(c - 1, 0))
        known = self.categories[pos] == scores[finite] if c else np.zeros(finite.sum(), bool)
        out[finite] = np.where(known, pos, c)
        return out


def soft_majority(counts: np.ndarray) -> np.ndarray:
    """Rows of ``counts`` -> the modal categories' shares (1/k each for k tied modes; zeros for an empty row)."""
    top = counts.max(axis=1, keepdims=True)
    modal = (counts == top) & (top > 0)
    k = modal.sum(axis=1, keepdims=True)
    return np.where(k > 0, modal / np.maximum(k, 1), 0.0)


def _kappa(p_o: np.ndarray, p_e: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p_e < 1 - 1e-12, (p_o - p_e) / (1 - p_e), np.nan)


def human_statistics(coded: CodedRatings) -> dict[str, np.ndarray]:
    """Each human's four statistics against the other humans of the items they rated (NaN where none), and items used."""
    c = len(coded.categories)
    others = coded.table[coded.item].copy()
    others[np.arange(len(coded.code)), coded.code] -= 1.0
    n_others = others.sum(axis=1)
    use = n_others >= 1
    rater, code, others, n_others = coded.rater[use], coded.code[use], others[use], n_others[use]
    r = coded.n_raters
    n = np.bincount(rater, minlength=r).astype(float)
    own = np.zeros((len(code), c))
    own[np.arange(len(code)), code] = 1.0
    majority = soft_majority(others)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc_major = np.bincount(rater, weights=majority[np.arange(len(code)), code], minlength=r) / n
        own_share = _sum_by(rater, own, r) / n[:, None]
        major_share = _sum_by(rater, majority, r) / n[:, None]
        kappa_major = _kappa(acc_major, (own_share * major_share).sum(axis=1))
        pairs = np.bincount(rater, weights=n_others, minlength=r)
        acc_pairs = np.bincount(rater, weights=others[np.arange(len(code)), code], minlength=r) / pairs
        own_pair_share = _sum_by(rater, own * n_others[:, None], r) / pairs[:, None]
        other_pair_share = _sum_by(rater, others, r) / pairs[:, None]
        kappa_pairs = _kappa(acc_pairs, (own_pair_share * other_pair_share).sum(axis=1))
    return {"accuracy_majority": acc_major, "kappa_majority": kappa_major, "accuracy_pairs": acc_pairs,
            "kappa_pairs": kappa_pairs, "n_items": n}  # fmt: skip


def _sum_by(group: np.ndarray, rows: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``rows`` per group: (n_groups, C), one bincount per category (categories are few)."""
    return np.column_stack([np.bincount(group, weights=rows[:, k], minlength=n_groups) for k in range(rows.shape[1])]) if rows.shape[1] else np.zeros((n_groups, 0))


def machine_terms(coded: CodedRatings, machine_codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-item terms whose (weighted) sums give the machine's four statistics; items without a label or a human are weight 0."""
    c = len(coded.categories)
    n_i = coded.table.sum(axis=1)
    use = (machine_codes >= 0) & (n_i >= 1)
    f = np.where(use, machine_codes, 0)
    own = np.zeros((coded.n_items, c + 1))
    own[np.arange(coded.n_items), f] = use
    own = own[:, :c]  # a label no human used matches no one and adds nothing to chance agreement
    majority = soft_majority(coded.table) * use[:, None]
    padded = np.hstack([majority, np.zeros((coded.n_items, 1))])
    hit_major = padded[np.arange(coded.n_items), f] * use
    table = coded.table * use[:, None]
    hit_pairs = np.hstack([table, np.zeros((coded.n_items, 1))])[np.arange(coded.n_items), f] * use
    return {"use": use.astype(float), "hit_major": hit_major, "own": own, "majority": majority, "pairs": n_i * use,
            "hit_pairs": hit_pairs, "own_pairs": own * n_i[:, None], "table": table}  # fmt: skip


def machine_statistics(terms: dict[str, np.ndarray], weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The machine's four statistics for each row of item ``weights`` (b, n_items); None: the observed data (b = 1)."""
    w = np.ones((1, len(terms["use"]))) if weights is None else weights
    with np.errstate(invalid="ignore", divide="ignore"):
        n = w @ terms["use"]
        acc_major = (w @ terms["hit_major"]) / n
        p_e_major = ((w @ terms["own"]) * (w @ terms["majority"])).sum(axis=1) / n**2
        pairs = w @ terms["pairs"]
        acc_pairs = (w @ terms["hit_pairs"]) / pairs
        p_e_pairs = ((w @ terms["own_pairs"]) * (w @ terms["table"])).sum(axis=1) / pairs**2
    return {"accuracy_majority": acc_major, "kappa_majority": _kappa(acc_major, p_e_major), "accuracy_pairs": acc_pairs,
            "kappa_pairs": _kappa(acc_pairs, p_e_pairs)}  # fmt: skip


def bootstrap_machine(terms: dict[str, np.ndarray], n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Item-bootstrap replicates (n_boot,) of each machine statistic, from the shared seeded count chunks."""
    n_items = len(terms["use"])
    out = {k: np.empty(n_boot) for k in STATISTICS}
    for rows, counts in count_chunks(n_items, n_boot, seed):
        stats = machine_statistics(terms, counts)
        for k in STATISTICS:
            out[k][rows] = stats[k]
    return out
