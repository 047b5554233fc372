"""The command line starts without the numeric stack: --help, every command's --help and `datasets` import no pandas, numpy or scipy."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "openai", "anthropic", "llama_cpp", "httpx")

PROBE = """
import sys
from annalign.cli.commands import cli
try:
    cli.main(args=sys.argv[1:], prog_name="annalign", standalone_mode=False)
finally:
    print("LOADED=" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["datasets"], ["analyze", "--help"], ["run", "--help"], ["annotate", "--help"], ["groups", "--help"], ["disagreement", "--help"]],
)
def test_command_line_starts_without_the_numeric_stack(args):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = proc.stdout.rsplit("LOADED=", 1)[1].strip()
    assert loaded == "", f"annalign {' '.join(args)} imported {loaded}"


def test_the_probe_sees_heavy_imports_when_they_happen():
    code = "import sys, numpy; print('LOADED=' + ','.join(m for m in ('numpy',) if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.rsplit("LOADED=", 1)[1].strip() == "numpy"


#: Modules that `analyze` on DICES-350 does not need in its main process (scipy.stats alone takes about 0.5 s to import).
ANALYZE_AVOIDS = ("scipy.stats", "scipy.spatial", "scipy.optimize", "scipy.integrate")


def test_analyze_on_dices_does_not_import_scipy_stats(tmp_path):
    """The whole-process time of analyze (docs/speed.md) depends on it; the alt-test's Wilcoxon fallback imports it when asked."""
    args = ["analyze", "--dataset", "dices350", "--bootstrap", "50", "--out", str(tmp_path / "o"), "--ratings", "tests/fixtures/dices350-judge-a.csv"]
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=ANALYZE_AVOIDS), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = proc.stdout.rsplit("LOADED=", 1)[1].strip()
    assert loaded == "", f"annalign analyze imported {loaded}"
