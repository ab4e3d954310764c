#!/usr/bin/env bash
# Installs llama-cpp-python[server] into the given Python, built portably.
#
# Its default build is -march=native (GGML_NATIVE). A virtual machine may advertise instruction
# sets it cannot run (AMX: the first request dies with a general protection fault), and a native
# wheel reused on another processor is the same trap. So: GGML_NATIVE=OFF, AMX off, and each
# x86 extension switched on only when /proc/cpuinfo lists it. The wheel is kept in a directory
# keyed by version and flags, built with pip's cache off: pip would otherwise hand back a cached
# wheel of the same version whatever CMAKE_ARGS says.
set -euo pipefail

python=${1:?usage: build-llama-cpp.sh PYTHON}
version=${LLAMA_CPP_VERSION:-0.3.36}
cache=${NEWSRAG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsrag/wheels}

args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
if [ "$(uname -m)" = x86_64 ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  has() { case " ${flags#*:} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  for pair in sse4_2:SSE42 avx:AVX avx2:AVX2 bmi2:BMI2 fma:FMA f16c:F16C avx512f:AVX512 \
              avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
    if has "${pair%%:*}"; then args="$args -DGGML_${pair#*:}=ON"; else args="$args -DGGML_${pair#*:}=OFF"; fi
  done
fi

key=$(printf '%s %s' "$version" "$args" | sha256sum | cut -c1-16)
wheels="$cache/llama-cpp-python-$version-$key"
if ! ls "$wheels"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $version (portable: $args); about 5 minutes on 2 cores"
  mkdir -p "$wheels"
  CMAKE_ARGS="$args" "$python" -m pip wheel --quiet --no-deps --no-cache-dir \
    --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python==$version"
  printf '%s\n' "$args" > "$wheels/CMAKE_ARGS"
fi
# Replace whatever build is installed (a native one, say) by this one, then add the server extras.
stamp=$("$python" -c 'import sys; print(sys.prefix)')/.llama-cpp-build
if [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
  "$python" -m pip install --quiet --no-cache-dir --no-deps --force-reinstall \
    "$wheels"/llama_cpp_python-"$version"-*.whl
fi
"$python" -m pip install --quiet --only-binary llama-cpp-python --find-links "$wheels" \
  "llama-cpp-python[server]==$version"
echo "$key" > "$stamp"
