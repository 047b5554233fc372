"""The README's run command works from a fresh clone, with no network once the packages are installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.needs import missing

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The set-up commands of the README's first code block."""
    text = (REPO / "README.md").read_text("utf-8")
    block = re.search(r"## Set up and run\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md lost its 'Set up and run' block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert commands == ["make run", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text("utf-8")


def _offline_prefix() -> list[str]:
    """``unshare -n``: run in a new network namespace, with no network at all.

    Where the machine refuses it, the run would silently have the network: that skips the test
    here with the reason, and fails it in CI.
    """
    if not shutil.which("unshare"):
        missing("cannot cut the network for the offline run: no unshare command")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing(f"cannot cut the network for the offline run: unshare -n refused ({probe.stderr.strip()[:200]})")
    return ["unshare", "-n"]


#: Subprocess limits, inside the test's own pytest timeout (set below) so a hang fails with output.
SETUP_S, RUN_S, RERUN_S = 1500, 600, 300


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.timeout(SETUP_S + RUN_S + RERUN_S + 120)
def test_make_run_from_a_fresh_clone(tmp_path):
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    offline = _offline_prefix()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    # Set-up needs the package registry (pip); the run itself must not touch the network.
    setup = subprocess.run(["make", "setup"], cwd=clone, env=env, capture_output=True, text=True, timeout=SETUP_S)
    assert setup.returncode == 0, setup.stderr[-2000:]
    run = subprocess.run(
        [*offline, "make", "run", "OUT=out", "RUN_ARGS=--limit 12 --bootstrap 200"],
        cwd=clone, env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=RUN_S,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = clone / "out"
    results = json.loads((out / "results.json").read_text("utf-8"))
    machine = results["rq1"]["machines"]["local:smollm2-135m/dices-likert"]
    assert machine["n_items"] == 12
    assert round(results["rq1"]["human_loo_median"], 3) == 0.513
    assert {"rq2", "rq3"} <= set(results)
    assert (out / "report.html").exists() and (out / "ledger.sqlite").exists()
    assert "report:" in run.stdout
    # A second run is answered from the ledger.
    again = subprocess.run(
        [*offline, "make", "run", "OUT=out", "RUN_ARGS=--limit 12 --bootstrap 200"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=RERUN_S,
    )  # fmt: skip
    assert again.returncode == 0
    assert json.loads((out / "results.json").read_text("utf-8"))["rq1"]["machines"] == results["rq1"]["machines"]
