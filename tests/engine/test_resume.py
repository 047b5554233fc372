"""Kill -9 a running annotation at random points, restart it, and compare with an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

N_ITEMS = 48
CONCURRENCY = 4
KILLS = 5


def _command(base_url: str, ledger: Path, out: Path, n_items: int = N_ITEMS) -> list[str]:
    return [sys.executable, "-m", "annalign.engine", "--dataset", "dices350", "--model", f"openai:fake@{base_url}",
            "--limit", str(n_items), "--concurrency", str(CONCURRENCY), "--ledger", str(ledger), "--out", str(out),
            "--no-progress"]  # fmt: skip


def _committed(ledger: Path) -> set[str]:
    """Prompt hashes of the requests answered in the ledger."""
    if not ledger.exists():
        return set()
    try:
        with sqlite3.connect(ledger) as db:
            return {r[0] for r in db.execute("SELECT prompt_hash FROM requests WHERE status = 'ok'")}
    except sqlite3.OperationalError:  # the run has created the file but not yet its tables
        return set()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["PYTHONWARNINGS"] = "ignore"
    # A killed run's claims on its in-flight requests expire after the lease; a short one lets the
    # next run (which starts about a second later) take them over at once, as the counts below assume.
    env["ANNALIGN_LEASE_SECONDS"] = "1"
    return env


def test_sigkill_and_restart_loses_nothing_and_resends_only_in_flight(fake_server, tmp_path: Path) -> None:
    rng = random.Random(1234)
    server = fake_server(latency=0.08).start()
    ledger, out = tmp_path / "ledger.sqlite", tmp_path / "resumed.csv"
    kills = 0
    committed_at_kill: list[set[str]] = []
    windows: list[tuple[int, int]] = []
    while True:
        start = len(server.log)
        proc = subprocess.Popen(_command(server.base_url, ledger, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kills < KILLS:
            target = start + rng.randint(1, 2 * CONCURRENCY)
            deadline = time.monotonic() + 60
            while len(server.log) < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                kills += 1
                time.sleep(0.1)  # requests the dead client had in flight finish on the server
                windows.append((start, len(server.log)))
                committed_at_kill.append(_committed(ledger))
                continue
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()
        windows.append((start, len(server.log)))
        break
    assert kills == KILLS

    # Same results as an uninterrupted run (a second server, a fresh ledger).
    fresh = fake_server(latency=0.0).start()
    reference = tmp_path / "reference.csv"
    subprocess.run(_command(fresh.base_url, tmp_path / "ref.sqlite", reference), env=_env(), check=True, capture_output=True)
    cols = ["item_id", "rater", "score", "status", "answer"]
    got = pd.read_csv(out)[cols].sort_values("item_id").reset_index(drop=True)
    want = pd.read_csv(reference)[cols].sort_values("item_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == N_ITEMS and (got["status"] == "ok").all()

    # No request was sent twice except those in flight at a kill.
    hashes = [e["hash"] for e in server.log]
    assert set(hashes) == set(fresh.attempts) and len(set(hashes)) == N_ITEMS
    resent = 0
    for run, (lo, hi) in enumerate(windows):
        in_run = hashes[lo:hi]
        assert len(in_run) == len(set(in_run)), "a request was sent twice within one run"
        if run > 0:
            done_before = committed_at_kill[run - 1]
            assert not done_before & set(in_run), "a request already answered in the ledger was sent again"
            earlier = set(hashes[:lo])
            again = earlier & set(in_run)
            assert len(again) <= CONCURRENCY, "more re-sends than requests in flight at the kill"
            resent += len(again)
    assert len(hashes) == N_ITEMS + resent


def test_ctrl_c_exits_130_keeps_what_is_done_and_resumes(fake_server, tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) through the annalign CLI: exit code 130, one line, answered requests kept."""
    # enough items (about 6 s of requests) that the run is still going when 8 are answered, on a loaded machine too
    n_items = 4 * N_ITEMS
    server = fake_server(latency=0.12).start()
    ledger, out = tmp_path / "ledger.sqlite", tmp_path / "out.csv"
    command = [sys.executable, "-m", "annalign.cli.commands", "annotate", *_command(server.base_url, ledger, out, n_items)[3:]]
    # a suite started in the background by a non-interactive shell inherits SIGINT ignored; the run must see Ctrl-C
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.time() + 60
    while len(_committed(ledger)) < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be interrupted ({len(_committed(ledger))} answered)"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    done = _committed(ledger)
    assert 8 <= len(done) < n_items
    sent_before = len(server.log)
    subprocess.run(command, env=_env(), check=True, capture_output=True, timeout=120)
    resent = [e["hash"] for e in server.log[sent_before:] if e["hash"] in done]
    assert resent == []  # nothing answered before Ctrl-C is sent again
    assert len(pd.read_csv(out)) == n_items and len(_committed(ledger)) == n_items
