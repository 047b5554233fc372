"""The package's imports flow one way (pyproject's import-linter contracts), with no cycle anywhere in src/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph("annalign", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module != imported and graph.chain_exists(importer=imported, imported=module):
                if not (module.startswith(imported + ".") or imported.startswith(module + ".")):  # a package and its own modules
                    cycles.append(f"{module} <-> {imported}")
    assert not cycles, cycles
