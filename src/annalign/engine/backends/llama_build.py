"""Is the installed llama.cpp safe to run on this CPU? Checked before the in-process model loads.

A llama-cpp-python wheel compiled with ``-march=native`` carries the build machine's instruction
sets. Where this CPU lacks one of them, llama.cpp dies with SIGILL (an AVX-512 build already when
its CPU backend starts, an AMX build in its first large matrix product) and takes the whole process
(a pytest run, an hour of annotation) with it. So a child process first reads the build's system
information and, for builds with AMX kernels, evaluates a long prompt (the AMX kernel only runs on
large batches; the OS or a hypervisor can disable the tile state of a CPU that advertises it):

- a child killed by a signal means the build faults here: refused;
- a build for an instruction set that this CPU does not report (``/proc/cpuinfo``): refused.
The verdict is cached per library file and CPU, so the child costs about a second, once.

Each failure is one line that says how to reinstall portably (``scripts/install-llama.sh``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from annalign.errors import InputError

#: llama.cpp system-info feature name -> the /proc/cpuinfo flag it needs.
CPU_FLAG = {
    "SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX2": "avx2", "F16C": "f16c", "FMA": "fma",
    "BMI2": "bmi2", "AVX_VNNI": "avx_vnni", "AVX512": "avx512f", "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16", "AMX_INT8": "amx_int8",
    "AMX_BF16": "amx_bf16", "AMX_TILE": "amx_tile",
}  # fmt: skip
#: Prompt length of the probe: past the batch size at which llama.cpp hands matrix products to AMX.
PROBE_TOKENS = 1100
REINSTALL = "reinstall it portably: bash scripts/install-llama.sh {python} (or make clean setup)"


def built_features(system_info: str) -> set[str]:
    """Instruction-set features a llama.cpp build reports as compiled in (``NAME = 1``)."""
    return {name for name, value in re.findall(r"([A-Z0-9_]+) = (\d+)", system_info) if value != "0"} & set(CPU_FLAG)


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """This CPU's feature flags from /proc/cpuinfo, or None where that file does not exist (not Linux x86)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    match = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    return set(match.group(1).split()) if match else None


def missing_features(system_info: str, flags: set[str] | None) -> list[str]:
    """Features compiled into the build that this CPU does not report."""
    if flags is None:
        return []
    return sorted(f for f in built_features(system_info) if CPU_FLAG[f] not in flags)


def has_amx(system_info: str) -> bool:
    """Whether the build carries llama.cpp's AMX kernels."""
    return any(f.startswith("AMX") for f in built_features(system_info))


def library_identity(llama_cpp_module: object) -> str:
    """Path, size and mtime of the loaded libllama, plus the CPU model: what a probe verdict depends on."""
    folder = Path(getattr(llama_cpp_module, "__file__", "")).parent / "lib"
    parts = []
    for lib in sorted(folder.glob("lib*.so*")) if folder.is_dir() else []:
        st = lib.stat()
        parts.append(f"{lib}:{st.st_size}:{st.st_mtime_ns}")
    model = re.search(r"^model name\s*:(.*)$", _cpuinfo_text(), re.M)
    parts.append(model.group(1).strip() if model else "")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _cpuinfo_text() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def probe_cache_path() -> Path:
    """Where probe verdicts are kept (``$XDG_CACHE_HOME/annalign/llama-probe.json``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "annalign" / "llama-probe.json"


def run_probe(command: Sequence[str], *, timeout: float = 300.0) -> tuple[int, str]:
    """Run the probe child: its return code (negative: killed by that signal) and what it printed."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 0, ""  # slow, not crashed: the in-process run will tell
    return done.returncode, done.stdout


def probe_verdict(key: str, command: Sequence[str], *, cache: Path | None = None) -> tuple[int, str]:
    """(return code, system information) of the probe for this library and CPU: cached, or run once."""
    cache = cache or probe_cache_path()
    try:
        known = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        known = {}
    if isinstance(known.get(key), dict):
        return int(known[key]["code"]), str(known[key]["info"])
    code, info = run_probe(command)
    known[key] = {"code": code, "info": info}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known), "utf-8")
        tmp.replace(cache)
    except OSError:
        pass  # a read-only cache only means probing again next time
    return code, info


def signal_name(code: int) -> str:
    """SIGILL for -4, and so on."""
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def check_build(llama_cpp_module: object, model_path: str, *, probe_command: Sequence[str] | None = None) -> str | None:
    """Raise InputError (one line) if the installed llama.cpp would crash on this CPU; else its system information.

    Everything that touches the library's code runs in a child process: a build for instructions
    this CPU lacks can die by SIGILL as soon as its backend starts (reading its own system
    information), before any kernel runs.
    """
    if os.environ.get("ANNALIGN_TRUST_LLAMA_BUILD") == "1":
        return None
    where = Path(getattr(llama_cpp_module, "__file__", "llama_cpp")).parent
    fix = REINSTALL.format(python=sys.executable)
    command = probe_command or [sys.executable, "-m", "annalign.engine.backends.llama_build", model_path]
    code, info = probe_verdict(library_identity(llama_cpp_module), command)
    missing = missing_features(info, cpu_flags())
    if code < 0:
        if has_amx(info):
            what = "built with llama.cpp's AMX kernels"
        elif info.strip():
            what = f"built with {', '.join(sorted(built_features(info)))}"
        else:
            what = "it died before it could report its instruction sets, as a -march=native build for a newer CPU does"
        lacks = f"; this CPU lacks {', '.join(missing)}" if missing else ""
        raise InputError(
            f"llama-cpp-python in {where} crashes on this CPU ({signal_name(code)} in a probe run; {what}{lacks}); {fix}"
        )
    if missing:
        raise InputError(
            f"llama-cpp-python in {where} was built for {', '.join(missing)}, which this CPU lacks, "
            f"and would crash (SIGILL); {fix}"
        )
    return info


def probe(model_path: str) -> None:
    """Child-process probe: print the build's system information, then, for AMX builds, run a long prompt."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    print(info, flush=True)
    if not has_amx(info):
        return
    model = llama_cpp.Llama(model_path=model_path, n_ctx=2048, n_batch=2048, n_ubatch=2048, verbose=False)
    words = model.tokenize(b" safety", add_bos=False, special=False)
    model.eval((words * PROBE_TOKENS)[:PROBE_TOKENS])
    model.close()


if __name__ == "__main__":
    probe(sys.argv[1])
