"""Concurrent runs on one ledger send every request once; a killed run's claims expire and are taken over."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd

KEY_A, KEY_B = "sk-client-A-0000000000000000", "sk-client-B-1111111111111111"


def _command(base_url: str, ledger: Path, out: Path, n_items: int, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "annalign.cli.commands", "annotate", "--dataset", "dices350", "--model", f"openai:fake@{base_url}",
            "--limit", str(n_items), "--concurrency", str(concurrency), "--ledger", str(ledger), "--out", str(out),
            "--no-progress"]  # fmt: skip


def _env(key: str, lease: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL",)}
    env.update({"OPENAI_API_KEY": key, "ANNALIGN_LEASE_SECONDS": str(lease), "PYTHONWARNINGS": "ignore"})
    return env


def _claims(ledger: Path) -> list[tuple[str, str, float]]:
    with sqlite3.connect(ledger) as db:
        return list(db.execute("SELECT key, owner, expires_at FROM claims"))


def test_two_annotate_processes_on_one_ledger_send_every_request_once(fake_server, tmp_path: Path) -> None:
    n = 60
    server = fake_server(latency=0.15).start()
    ledger = tmp_path / "ledger.sqlite"
    procs = [
        subprocess.Popen(_command(server.base_url, ledger, tmp_path / f"{name}.csv", n, 2), env=_env(key, 30),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for name, key in (("a", KEY_A), ("b", KEY_B))
    ]
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    by_client = Counter(e["auth"] for e in server.log)
    assert by_client[f"Bearer {KEY_A}"] > 0 and by_client[f"Bearer {KEY_B}"] > 0, by_client  # they did overlap
    hashes = [e["hash"] for e in server.log]
    assert len(hashes) == n and len(set(hashes)) == n  # ... and no request was sent twice
    a, b = (pd.read_csv(tmp_path / f"{name}.csv").sort_values("item_id").reset_index(drop=True) for name in "ab")
    assert len(a) == n and (a["status"] == "ok").all()
    pd.testing.assert_frame_equal(a[["item_id", "score", "answer"]], b[["item_id", "score", "answer"]])
    assert _claims(ledger) == []  # both released what they held


def test_long_requests_keep_their_claims_alive(fake_server, tmp_path: Path) -> None:
    """Requests held far longer than the 1 s lease: the owner renews its claims, so a second run waits instead of resending."""
    n = 6
    gate = threading.Event()
    server = fake_server(gate=gate).start()
    ledger = tmp_path / "ledger.sqlite"
    first = subprocess.Popen(_command(server.base_url, ledger, tmp_path / "a.csv", n, n), env=_env(KEY_A, 1),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(server.log) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(3.0)  # three leases: without renewal every claim would have expired by now
    second = subprocess.Popen(_command(server.base_url, ledger, tmp_path / "b.csv", n, n), env=_env(KEY_B, 1),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert second.stderr is not None
    waiting = second.stderr.readline()  # its first line: waiting for the other run (or nothing if it sent them itself)
    gate.set()
    out, err = second.communicate(timeout=120)
    _, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, err
    assert "being sent by another annalign run" in waiting, waiting + err
    assert len(server.log) == n and {e["auth"] for e in server.log} == {f"Bearer {KEY_A}"}
    assert f"{n} from the ledger, 0 sent" in out
    assert len(pd.read_csv(tmp_path / "b.csv")) == n


def test_a_sigkilled_run_leaves_claims_that_another_run_takes_over_after_expiry(fake_server, tmp_path: Path) -> None:
    """A run (A) holds 4 slow requests when it is killed; a second run (B), already waiting for them, sends them only after A's claims expire."""
    n, lease = 16, 2.0
    held: list[str] = []

    def plan(digest: str, attempt: int) -> str | None:  # A's first four requests hang; everything else is answered at once
        if attempt == 1 and (digest in held or len(held) < 4):
            if digest not in held:
                held.append(digest)
            return "slow"
        return None

    server = fake_server(faults=plan, slow_seconds=60.0).start()
    ledger = tmp_path / "ledger.sqlite"
    victim = subprocess.Popen(_command(server.base_url, ledger, tmp_path / "a.csv", n, 4), env=_env(KEY_A, lease),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(server.log) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    taker = subprocess.Popen(_command(server.base_url, ledger, tmp_path / "b.csv", n, 4), env=_env(KEY_B, lease),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert taker.stderr is not None
    waiting = taker.stderr.readline()  # B has sent the other 12 and waits for A's 4
    assert "4 request(s) are being sent by another annalign run" in waiting, waiting
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    killed_at = time.time()
    left = _claims(ledger)
    assert len(left) == 4 and len({owner for _, owner, _ in left}) == 1 and f":{victim.pid}:" in left[0][1]
    assert all(killed_at < expires <= killed_at + lease + 0.5 for _, _, expires in left)  # live, and expiring soon
    out, err = taker.communicate(timeout=120)
    assert taker.returncode == 0, err
    with sqlite3.connect(ledger) as db:
        prompt_of = dict(db.execute("SELECT key, prompt_hash FROM requests"))
    expiry = {prompt_of[key]: expires for key, _, expires in left}
    assert set(expiry) == set(held)
    again = [e for e in server.log if e["auth"] == f"Bearer {KEY_B}" and e["hash"] in expiry]
    assert len(again) == 4 and all(e["t_recv"] >= expiry[e["hash"]] for e in again)  # taken over after expiry only
    hashes = Counter(e["hash"] for e in server.log)
    assert len(hashes) == n and {h for h, c in hashes.items() if c > 1} == set(held) and max(hashes.values()) == 2
    assert "12 sent" not in out and "16 sent" in out
    frame = pd.read_csv(tmp_path / "b.csv")
    assert len(frame) == n and (frame["status"] == "ok").all()
    assert _claims(ledger) == []
