#!/usr/bin/env bash
# Install llama-cpp-python into a virtual environment, built portably, from a wheel cache.
#
# Why not a plain `pip install llama-cpp-python`: pip compiles llama.cpp for the build machine's CPU
# (GGML_NATIVE, -march=native). On a CPU that advertises AMX that build holds llama.cpp's AMX matrix
# kernels, which die with SIGILL (tileloadd) where the OS or hypervisor does not enable the tile
# state; and a native wheel carried to another CPU by pip's wheel cache is wrong there too.
# This script builds for one of two instruction-set tiers, AMX always off:
#   v3: x86-64-v3 (AVX, AVX2, FMA, F16C, BMI2: every x86-64 CPU since about 2015);
#   v4: v3 plus AVX-512 F/CD/DQ/BW/VL, VBMI, VNNI and BF16 (Intel since Ice Lake, AMD since Zen 4),
#       chosen where /proc/cpuinfo reports all of them (Linux hides AVX-512 flags the OS does not
#       enable); its F16 prompt evaluation is about 1.4x v3's on such CPUs (docs/offline-speed.md).
# No -march=native, and only the libraries annalign loads (no common library, multimodal
# library, tools, examples or tests; see llama-portable.cmake). The wheel is cached under a key of
# version, options (so the tier) and this script's CMake file, so a second set-up installs it in
# seconds; pip's own wheel cache is bypassed (it keys by sdist only, and could hand back someone's
# native build), its HTTP cache still serves the sdist. An environment shared by CPUs of both
# tiers (a cluster's network home) should be set up with ANNALIGN_LLAMA_TIER=v3; if a v4 build
# reaches a CPU without AVX-512 anyway, annalign's guard refuses it in one line before it can crash.
#
# Usage: scripts/install-llama.sh PYTHON      (the virtual environment's python)
#        scripts/install-llama.sh --tier      (print the tier it would build, and stop)
# Env:   ANNALIGN_LLAMA_TIER        auto (default: v4 where this CPU reports it, else v3), v3 or v4
#        ANNALIGN_LLAMA_CMAKE_ARGS  replaces the CPU options (e.g. for a CPU without AVX2:
#        "-DGGML_NATIVE=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF")
#        ANNALIGN_WHEEL_CACHE       where built wheels are kept (default ~/.cache/annalign/wheels)
set -euo pipefail
PY=${1:?usage: install-llama.sh PYTHON}
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=0.3.36
V4_FLAGS="avx512f avx512cd avx512dq avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16"
TIER=${ANNALIGN_LLAMA_TIER:-auto}
if [ "$TIER" = auto ]; then
    TIER=v4
    flags=" $(grep -m1 '^flags' "${ANNALIGN_CPUINFO:-/proc/cpuinfo}" 2>/dev/null | cut -d: -f2) "
    for f in $V4_FLAGS; do case "$flags" in *" $f "*) ;; *) TIER=v3 ;; esac; done
fi
case "$TIER" in
    v3) AVX512=OFF ;;
    v4) AVX512=ON ;;
    *) echo "install-llama: ANNALIGN_LLAMA_TIER must be auto, v3 or v4, got '$TIER'" >&2; exit 2 ;;
esac
if [ "$PY" = --tier ]; then echo "$TIER"; exit 0; fi
CPU_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX512=$AVX512 -DGGML_AVX512_VBMI=$AVX512 -DGGML_AVX512_VNNI=$AVX512 -DGGML_AVX512_BF16=$AVX512 -DGGML_AVX_VNNI=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
WHAT="tier $TIER, AMX off"
[ -n "${ANNALIGN_LLAMA_CMAKE_ARGS:-}" ] && WHAT="with ANNALIGN_LLAMA_CMAKE_ARGS=$ANNALIGN_LLAMA_CMAKE_ARGS"
CPU_ARGS=${ANNALIGN_LLAMA_CMAKE_ARGS:-$CPU_ARGS}
BUILD_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
-DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF -DCMAKE_BUILD_TYPE=Release"
KEY=$( { printf '%s\n%s\n%s\n%s\n' "$VERSION" "$CPU_ARGS" "$BUILD_ARGS" "$(uname -m)"; cat "$HERE/llama-portable.cmake"; } \
    | sha256sum | cut -c1-16)
ROOT=${ANNALIGN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/annalign/wheels}
CACHE=$ROOT/llama-cpp-python-$VERSION-$KEY
if ! compgen -G "$CACHE/llama_cpp_python-*.whl" >/dev/null; then
    echo "install-llama: compiling llama-cpp-python $VERSION, $WHAT (about 5 minutes on 2 cores, once per machine)" >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$PY" -m pip download --quiet --no-deps --no-binary :all: -d "$work/src" "llama-cpp-python==$VERSION"
    CMAKE_ARGS="$CPU_ARGS $BUILD_ARGS -DCMAKE_PROJECT_INCLUDE=$HERE/llama-portable.cmake" \
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
        "$PY" -m pip wheel --quiet --no-deps --no-cache-dir -w "$work/wheel" "$work"/src/llama_cpp_python-*.tar.gz
    mkdir -p "$ROOT"
    rm -rf "$CACHE.tmp" && mkdir -p "$CACHE.tmp"
    cp "$work"/wheel/llama_cpp_python-*.whl "$CACHE.tmp/"
    printf '%s\n%s\n' "$CPU_ARGS" "$BUILD_ARGS" >"$CACHE.tmp/CMAKE_ARGS"
    rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE"
fi
# --no-deps: its Python dependencies (numpy, jinja2, diskcache, typing-extensions) come with annalign's.
"$PY" -m pip install --quiet --no-deps --force-reinstall "$CACHE"/llama_cpp_python-*.whl
