"""Report speed on a real DICES-350 run (two machine-rater files): whole processes, several runs, median.

Three processes are timed, each ``--repeat`` times:

* ``load``: Python loading the run (a pickled RunResult) and nothing else: the floor under the others;
* ``report``: loading the run and writing report.html, report.md and figures/*.png (``--workers`` processes
  drawing; also once with one, drawn in the process itself);
* ``reference``: a plain pandas-and-matplotlib script that reads the run's CSV tables and draws the same
  number of figures (histogram, forest, strip, power lines, RQ3 intervals, scatter panels) as PNG.

Each report process also prints its own report time (write_report alone). Run:
``.venv/bin/python benchmarks/bench_report.py [--repeat 5]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

LOAD = "import pickle, sys; run = pickle.loads(open(sys.argv[1], 'rb').read())"

REPORT = LOAD + """
import time
from annalign.report import write_report
start = time.perf_counter()
paths = write_report(run, sys.argv[2], workers=int(sys.argv[3]) if sys.argv[3] != 'auto' else None)
print(f"{time.perf_counter() - start:.3f} {sum(k.endswith('.png') for k in paths)}")
"""

#: The plain reference: the same six figures' content from the CSV tables, pyplot, PNG, nothing else.
REFERENCE = r"""
import sys
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
humans, machines = pd.read_csv(src / "rq1_humans.csv"), pd.read_csv(src / "rq1_machines.csv")
per, raters, power = pd.read_csv(src / "rq2_per_group.csv"), pd.read_csv(src / "rq2_rater_r.csv"), pd.read_csv(src / "rq2_power.csv")
pred, items = pd.read_csv(src / "rq3_predictions.csv"), pd.read_csv(src / "rq3_items.csv")
def save(fig, name):
    fig.savefig(out / f"{name}.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
fig, ax = plt.subplots(figsize=(7.2, 3.8))
ax.hist(humans["loo_r"].dropna(), bins=25, label="humans")
for m in machines.itertuples():
    ax.axvline(m.r, label=f"{m.machine}: r = {m.r:.2f}")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1)); save(fig, "alignment")
groups = list(dict.fromkeys(per["group"]))
fig, ax = plt.subplots(figsize=(7.2, 6.6))
for k, (name, part) in enumerate(per.groupby("machine", sort=False)):
    y = np.arange(len(part)) + 0.3 * k
    ax.errorbar(part["r"], y, xerr=[part["r"] - part["ci_low"], part["ci_high"] - part["r"]], fmt="o", label=name)
    ax.scatter(part["adjusted_r"], y, facecolors="white", edgecolors="C%d" % k)
ax.set_yticks(np.arange(len(groups)), groups); ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1)); save(fig, "forest")
names = list(dict.fromkeys(raters["machine"]))
fig, axes = plt.subplots(1, len(names), figsize=(7.2, 5.4), sharey=True, squeeze=False)
for ax, name in zip(axes[0], names):
    part = raters[raters["machine"] == name]
    codes = part["group"].map({g: i for i, g in enumerate(groups)})
    ax.scatter(part["r"], codes + np.random.default_rng(0).uniform(-0.2, 0.2, len(part)), s=14)
    ax.set_title(name)
axes[0][0].set_yticks(np.arange(len(groups)), groups); save(fig, "strip")
obs = power[power["raters_per_group"] == "observed"]
fig, axes = plt.subplots(len(names), 1, figsize=(7.2, 3.8 * len(names)), squeeze=False)
for ax, name in zip(axes[:, 0], names):
    for k, (pair, part) in enumerate(obs[obs["machine"] == name].groupby(["group_a", "group_b"], sort=False)):
        ax.plot(part["n_items"], part["power"], marker="o" if k < 8 else None, label=" vs ".join(pair) if k < 8 else None)
    ax.set_xscale("log"); ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
save(fig, "power")
labels = list(dict.fromkeys(pred["a"] + " vs " + pred["b"]))
fig, ax = plt.subplots(figsize=(7.2, 10))
for k, (name, part) in enumerate(pred.groupby("predictor", sort=False)):
    y = np.arange(len(part)) + 0.3 * k
    ax.errorbar(part["r"], y, xerr=[part["r"] - part["ci_low"], part["ci_high"] - part["r"]], fmt="o", label=name)
ax.set_yticks(np.arange(len(labels)), labels); ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1)); save(fig, "rq3")
fig, axes = plt.subplots(2, 3, figsize=(8.4, 5.8))
cols = [c for c in items.columns if ":" in c]
for ax, (key, part) in zip(axes.ravel(), list(items.groupby(["a", "b"], sort=False))[:3] * 2):
    ax.scatter(part[cols[0]], part["difference"], s=10); ax.set_title(" vs ".join(key), fontsize=8)
fig.tight_layout(); save(fig, "scatter")
"""


def make_run(work: Path) -> Path:
    """Analyse DICES-350 with the two fixture machine-rater files (as ``annalign analyze`` does); pickle the RunResult."""
    from annalign.config import Settings
    from annalign.pipeline.run import run_settings

    start = time.perf_counter()
    settings = Settings(dataset="dices350", bootstrap=200,
                        ratings=[str(FIXTURES / "dices350-judge-a.csv"), str(FIXTURES / "dices350-judge-b.csv")])
    run = run_settings(settings)
    run.save(work / "run")
    path = work / "run.pkl"
    path.write_bytes(pickle.dumps(run))
    print(f"analysed DICES-350 with 2 machine-rater files in {time.perf_counter() - start:.1f} s; groupings {list(run.rq2)}")
    return path


def timed(args: list[str]) -> tuple[float, str]:
    """Wall seconds of one whole process, and its stdout."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout.strip()


def median_of(label: str, args: list[str], repeat: int) -> float:
    """Run ``repeat`` times; print the median whole-process time (and the median in-process report time, when printed)."""
    walls, inner = [], []
    for _ in range(repeat):
        wall, out = timed(args)
        walls.append(wall)
        if out:
            inner.append(float(out.split()[0]))
    line = f"  {label:<34} whole process median {statistics.median(walls):5.2f} s  (runs: {', '.join(f'{w:.2f}' for w in walls)})"
    if inner:
        line += f"; write_report alone median {statistics.median(inner):.2f} s"
    print(line)
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", default="auto", help="drawing processes for the main report timing (default: auto)")
    options = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = make_run(work)
        print(f"whole-process times, {options.repeat} runs each, {cores} cores, load average {os.getloadavg()[0]:.2f} before:")
        load = median_of("load the run only", ["-c", LOAD, str(run)], options.repeat)
        report = median_of(f"report (workers {options.workers})", ["-c", REPORT, str(run), str(work / "out"), options.workers], options.repeat)
        median_of("report (workers 1)", ["-c", REPORT, str(run), str(work / "out1"), "1"], options.repeat)
        reference = median_of("reference: pandas + pyplot, 6 PNGs", ["-c", REFERENCE, str(work / "run"), str(work / "ref")], options.repeat)
        figures = len(list((work / "out" / "figures").glob("*.png")))
        print(f"report: {figures} figures; {report:.2f} s whole process = {report - load:.2f} s beyond loading the run, "
              f"{report / reference:.2f} x the plain reference ({reference:.2f} s); load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
