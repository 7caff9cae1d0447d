#!/bin/sh
# Installs the Debian packages tunelab needs to build, test and run.
# Does nothing when every package is already installed; uses sudo when not root.
# clang, its runtime (libFuzzer, sanitizers) and libomp serve `make fuzz`.
# Peers for benchmarks (python3-torch, python3-optuna) are optional: pass --bench.
set -eu

pkgs="build-essential pkg-config libopenblas0-openmp libopenblas-openmp-dev liblapacke-dev
libstb-dev zlib1g-dev libsqlite3-dev sqlite3 libinih-dev libcjson-dev libcriterion-dev libnlopt-dev
openmpi-bin libopenmpi-dev gnuplot-nox fonts-dejavu-core dataset-fashion-mnist fortunes fortunes-min
libmicrohttpd-dev libjs-chart.js chromium
clang libclang-rt-dev libomp-dev"
if [ "${1:-}" = "--bench" ]; then
    pkgs="$pkgs python3-torch python3-optuna python3-numpy"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
