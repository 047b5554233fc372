"""results.json keeps its keys and numbers across the layout change (a run recorded before it, replayed now)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from tests.clihelp import run_cli

FIXTURES = Path(__file__).parent / "fixtures"
#: keys whose values name this machine's paths or the version, not results
VOLATILE = {"annalign_version", "source", "ratings", "provenance"}

#: RQ2 numbers that issue 11 changed on purpose (the keys stay): the reliability became the
#: variance-component form (Cronbach's alpha on complete data) instead of random split halves, the
#: intervals and the tests on the adjusted scale count the raters as a sample (crossed resampling),
#: Holm / BH adjust over every pair and machine, the within-group sampling baseline
#: is the replicates' within-group variance, and power is the disparity test's from a fitted model.
#: r, the raw differences, p_perm, p_delta, RQ1 and RQ3 must stay as recorded.
CHANGED_BY_ISSUE_11 = {
    "per_group": {"ci_low", "ci_high", "reliability", "reliability_ci_low", "reliability_ci_high", "adjusted_r",
                  "adjusted_ci_low", "adjusted_ci_high"},
    "pairwise": {"ci_low", "ci_high", "p_boot", "diff_adjusted", "adjusted_ci_low", "adjusted_ci_high", "p_adjusted",
                 "p_perm_holm", "p_perm_bh", "p_adjusted_holm", "p_adjusted_bh"},
    "omnibus": {"adjusted_chi2", "p_adjusted"},
    "within_group": {"sampling_sd", "real_sd", "sampling_share"},  # the baseline from the replicates' within-group variance
    # power of the disparity test from the fitted variance components, at the planning difference and Holm's first step
    "power": {"power", "power_closed_form"},
    "power_items_needed": {"items_for_80_power", "method", "items_for_80_power_closed_form"},
}  # fmt: skip
#: of those, the ones that may now be null: items needed is infinite (JSON null) when there is no
#: difference to plan for or the raters per group cannot reach 80% power
MAY_BE_NULL = {"items_for_80_power", "items_for_80_power_closed_form"}

#: RQ3 numbers issue 11 changed on purpose: the reliability of d is RQ2's variance-component estimator
#: extended to a difference (was random split halves; split_half_r is now the half-panel r it implies),
#: so the noise ceiling and r / ceiling follow; r's interval is crossed (items and raters) by default;
#: the splits setting counts the random item halves of the crossed rater part (10, RQ2's; was 100 split
#: halves). r, p_value, d and the sign accuracy must stay as recorded.
RQ3_CHANGED_BY_ISSUE_11 = {
    "results.rq3.pairs[]": {"split_half_r", "reliability", "noise_ceiling"},
    "results.rq3.pairs[].predictions[]": {"ci_low", "ci_high", "r_over_ceiling"},
    "results.rq3.settings": {"n_splits"},
    "results.settings": {"splits"},
}


def _rq3_changed(where: str) -> bool:
    """Whether a path like results.rq3.pairs[3].predictions[1].ci_low is one issue 11 changed in RQ3."""
    parent, _, key = where.rpartition(".")
    return key in RQ3_CHANGED_BY_ISSUE_11.get(re.sub(r"\[\d+\]", "[]", parent), set())


def _masked(text: str) -> str:
    """A warning with its decimal numbers masked: the same warning about the same thing, whatever the value."""
    return re.sub(r"-?\d+\.\d+", "#", text)


def _changed_on_purpose(where: str) -> bool:
    """Whether a path like results.rq2.pairwise[3].p_adjusted is one issue 11 changed (or RQ2's notes)."""
    if where.startswith("results.rq2.notes") or _rq3_changed(where):
        return True
    if where.startswith("results.rq1.machines.dices350-judge-b.alt"):  # issue 12: the alt-test scoring is the data set's (neg_rmse on DICES), no longer per machine
        return True
    if where == "results.settings.method":  # issue 12: the default is "auto" (the level's correlation; rq1.method still says pearson)
        return True
    for table, keys in CHANGED_BY_ISSUE_11.items():
        prefix = f"results.rq2.{table}["
        if where.startswith(prefix) and where.rsplit(".", 1)[-1] in keys:
            return True
    return False


def _compare(before: object, after: object, where: str, problems: list[str]) -> None:
    """Every key and number of ``before`` is in ``after`` unchanged (floats to 1e-12); keys may only be added."""
    if where in ("results.rq2.notes", "results.rq3.notes"):  # rewritten with the method (issue 11); still a list of lines
        if not (isinstance(after, list) and all(isinstance(n, str) for n in after)):
            problems.append(f"{where}: no longer a list of lines")
        return
    if isinstance(before, dict):
        if not isinstance(after, dict):
            problems.append(f"{where}: was an object")
            return
        for key, value in before.items():
            if key in VOLATILE:
                continue
            if key not in after:
                problems.append(f"{where}.{key}: key gone")
            else:
                _compare(value, after[key], f"{where}.{key}", problems)
    elif isinstance(before, list):
        if not isinstance(after, list) or len(after) != len(before):
            problems.append(f"{where}: list changed length")
            return
        for k, (b, a) in enumerate(zip(before, after, strict=True)):
            _compare(b, a, f"{where}[{k}]", problems)
    elif _changed_on_purpose(where):
        if after is None and where.rsplit(".", 1)[-1] in MAY_BE_NULL:
            return
        if type(before) is not type(after) and not (isinstance(before, (int, float)) and isinstance(after, (int, float))):
            problems.append(f"{where}: {before!r} -> {after!r} (changed type)")
    elif where.startswith("results.warnings[") and isinstance(before, str) and before.startswith("alt-test for 'dices350-judge-b'"):
        if not (isinstance(after, str) and after.startswith("alt-test for 'dices350-judge-b'")):  # its scoring changed on purpose (issue 12)
            problems.append(f"{where}: {before!r} -> {after!r}")
    elif where.startswith("results.warnings[") and isinstance(before, str) and before.startswith("RQ3 ") and isinstance(after, str):
        if _masked(before) != _masked(after):  # RQ3's warnings quote its reliability, which issue 11 changed
            problems.append(f"{where}: {before!r} -> {after!r}")
    elif isinstance(before, float) and isinstance(after, (int, float)):
        if not math.isclose(before, after, rel_tol=1e-12, abs_tol=1e-12):
            problems.append(f"{where}: {before!r} -> {after!r}")
    elif before != after:
        problems.append(f"{where}: {before!r} -> {after!r}")


def _current_rq3_labels(before: dict) -> dict:
    """The recording with RQ3's group labels in today's spelling: 'White|Man' became 'White × Man'.

    Issue 10 gave every output one label format (RQ2's `` × ``); the recording predates it. Only
    the label strings are mapped (rq3.groups keys, rq3.pairs a/b, and the labels inside warning
    texts); every other key and number is compared as recorded.
    """
    rq3 = before["rq3"]
    new = {old: " × ".join(old.split("|")) for old in rq3["groups"]}
    rq3["groups"] = {new[label]: n for label, n in rq3["groups"].items()}
    for pair in rq3["pairs"]:
        pair["a"], pair["b"] = new.get(pair["a"], pair["a"]), new.get(pair["b"], pair["b"])
    warnings = []
    for text in before["warnings"]:
        for old in sorted(new, key=len, reverse=True):
            text = text.replace(old, new[old]) if text.startswith("RQ3 ") else text
        warnings.append(text)
    before["warnings"] = warnings
    return before


def test_results_json_has_the_same_keys_and_numbers_as_before_the_layout_change(tmp_path, capsys):
    before = _current_rq3_labels(json.loads((FIXTURES / "dices350-results-before-layout.json").read_text("utf-8")))
    code, _out, err = run_cli(
        capsys, "analyze", "--dataset", "dices350", "--bootstrap", "500", "--out", str(tmp_path),
        "--ratings", str(FIXTURES / "dices350-judge-a.csv"), "--ratings", str(FIXTURES / "dices350-judge-b.csv"),
        "--alt-epsilon", "0.1",  # the default then (now the authors' 0.2)
    )  # fmt: skip
    assert code == 0, err[-2000:]
    after = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert after["schema_version"] == 1
    problems: list[str] = []
    _compare(before, after, "results", problems)
    assert not problems, problems[:20]
