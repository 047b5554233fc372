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
