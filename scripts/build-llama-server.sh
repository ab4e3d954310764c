#!/usr/bin/env bash
# Builds llama.cpp's own server, `llama-server`, portably, and installs it as VENV/bin/llama-server.
#
# Source: the llama-cpp-python sdist on PyPI vendors llama.cpp's full tree. The file is fetched
# from PyPI (its link in the simple index) and checked against the sha256 below; pip is not used
# (it would build the sdist's metadata, fetching its build tools). Only the `llama-server`
# target is built, llama.cpp linked in statically, without the web UI (its CMake would fetch
# prebuilt assets: nothing is downloaded but the sdist). Portable: the default build is
# -march=native (GGML_NATIVE), and a virtual machine may advertise instruction sets it cannot run
# (AMX: the first request dies with a general protection fault); a native binary reused on
# another processor is the same trap. So GGML_NATIVE=OFF, AMX off, and each x86 extension on
# only when /proc/cpuinfo lists it. The binary is cached by version and flags.
set -euo pipefail

venv=${1:?usage: build-llama-server.sh VENV}
version=${LLAMA_CPP_VERSION:-0.3.36}
sdist_sha256=${LLAMA_CPP_SDIST_SHA256:-832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e}
cache=${NEWSRAG_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsrag/llama-server}
jobs=$(nproc 2>/dev/null || echo 2)

args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
if [ "$(uname -m)" = x86_64 ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  has() { case " ${flags#*:} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  for pair in sse4_2:SSE42 avx:AVX avx2:AVX2 bmi2:BMI2 fma:FMA f16c:F16C avx512f:AVX512 \
              avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
    if has "${pair%%:*}"; then args="$args -DGGML_${pair#*:}=ON"; else args="$args -DGGML_${pair#*:}=OFF"; fi
  done
fi
build_args="-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF"

key=$(printf '%s %s %s' "$version" "$args" "$build_args" | sha256sum | cut -c1-16)
dir="$cache/$version-$key"
if [ ! -x "$dir/llama-server" ]; then
  echo "building llama-server (llama.cpp of llama-cpp-python $version; portable: $args)"
  echo "about 6 minutes on 2 cores, once: the binary is kept in $dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tarball="$work/llama_cpp_python-$version.tar.gz"
  # the file's link from the registry's simple index (what pip reads), then the file itself
  "$venv/bin/python" - "$(basename "$tarball")" "$tarball" <<'PY'
import re, sys, urllib.parse, urllib.request
name, target = sys.argv[1], sys.argv[2]
index = "https://pypi.org/simple/llama-cpp-python/"
page = urllib.request.urlopen(index, timeout=60).read().decode()
links = [h.split("#")[0] for h in re.findall(r'href="([^"]+)"', page)]
link = next((h for h in links if h.endswith("/" + name)), None)
if link is None:
    sys.exit(f"{name} is not in {index}")
urllib.request.urlretrieve(urllib.parse.urljoin(index, link), target)
PY
  echo "$sdist_sha256  $tarball" | sha256sum --check --quiet
  tar xzf "$tarball" -C "$work"
  generator=""
  if command -v ninja >/dev/null 2>&1; then generator="-G Ninja"; fi
  # shellcheck disable=SC2086 # the flag lists are meant to split
  cmake -S "$work/llama_cpp_python-$version/vendor/llama.cpp" -B "$work/build" $generator \
    $build_args $args >"$work/cmake.log" 2>&1 || { tail -20 "$work/cmake.log"; exit 1; }
  cmake --build "$work/build" --target llama-server -j "$jobs" >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log"; exit 1; }
  mkdir -p "$dir"
  install -m 755 "$work/build/bin/llama-server" "$dir/llama-server.tmp"
  printf '%s\n' "$args" >"$dir/CMAKE_ARGS"
  mv "$dir/llama-server.tmp" "$dir/llama-server"
fi
install -m 755 "$dir/llama-server" "$venv/bin/llama-server"
# a binary that cannot run here (a missing libgomp, an instruction set this processor lacks) fails
"$venv/bin/llama-server" --version 2>&1 | grep -m1 -i "^version"
# The Python binding and its server are no longer used: drop an earlier install.
if "$venv/bin/python" -m pip show --quiet llama-cpp-python >/dev/null 2>&1; then
  "$venv/bin/python" -m pip uninstall --quiet --yes llama-cpp-python
fi
