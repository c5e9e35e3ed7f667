#!/usr/bin/env bash
# Build llama-cpp-python for a portable x86-64 target and install it into the venv.
#
# Usage: scripts/build_llama_cpp.sh VENV_PIP VERSION WHEEL_DIR
#
# Why not pip's default build: it compiles llama.cpp with GGML_NATIVE=ON, which on Intel CPUs with AMX
# (Sapphire Rapids and later) builds the AMX path, and that path segfaults on the first decode
# (github.com/ggml-org/llama.cpp/issues/20824). The target here is AVX2 + FMA + F16C with no native tuning and no AVX-512 or
# AMX variant, which every x86-64 CPU of the last decade runs. Speed does not matter for what uses it
# (the integration tests' OpenAI-compatible server and `make gguf` checks).
#
# pip caches a built wheel under the same name whatever the flags, so a native wheel from an earlier
# build could come back: the wheel is built with --no-cache-dir into WHEEL_DIR (a folder named for the
# target) and installed from there; a second setup reuses it instead of compiling again (~4-8 min on 2 cores).
set -euo pipefail
pip=$1 version=$2 wheels=$3

flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF"
case "$(uname -m)" in
  x86_64|amd64)
    if ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
      echo "error: this CPU has no AVX2; the llama.cpp build here targets AVX2 (x86-64 CPUs since 2013)" >&2
      exit 2
    fi ;;
  *) flags="-DGGML_NATIVE=OFF" ;;  # not x86: the compiler's portable default for the architecture
esac

wheel=$(ls "$wheels"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $version for a portable CPU target (once; ~4-8 min on 2 cores)"
  mkdir -p "$wheels"
  CMAKE_ARGS="$flags" "$pip" wheel -q --no-cache-dir --no-deps -w "$wheels" "llama-cpp-python==$version"
  wheel=$(ls "$wheels"/llama_cpp_python-"$version"-*.whl | head -n 1)
fi
"$pip" install -q --force-reinstall --no-deps "$wheel"
