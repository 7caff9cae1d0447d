#!/bin/sh
# The MPI coordinator alone: rank 0 running a study whose objective is
# instant (the Branin function), so what is measured is asking, shipping,
# reporting and telling.  For each sampler/scheduler and rank count, prints
# trials per second (each trial = one suggestion + one result).
# Usage: scripts/bench_mpi.sh [TRIALS] [RANKS...]   (default 400; 2 4 8 16 32 64)
set -eu
TRIALS=${1:-400}
shift 2>/dev/null || true
RANKS=${*:-"2 4 8 16 32 64"}
BIN=${TUNELAB_BIN:-$(cd "$(dirname "$0")/.." && pwd)/tunelab}
DIR=$(mktemp -d /tmp/tl-bench-mpi.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/fn.ini" <<INI
[objective]
type = function
function = branin
[study]
trials = $TRIALS
[space]
x0 = uniform(-5, 10)
x1 = uniform(0, 15)
INI
printf "%-22s %6s %8s %10s\n" "study" "ranks" "trials" "trials/s"
for algo in "random fifo" "bayes fifo" "random hyperband"; do
    set -- $algo
    for np in $RANKS; do
        rm -f "$DIR"/b.db*
        extra=""
        [ "$2" = hyperband ] && extra="--set study.min_budget=1 --set study.max_budget=9"
        out=$(cd "$DIR" && OMP_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe -np "$np" "$BIN" run fn.ini \
            --set study.storage=b.db --set study.sampler=$1 --set study.scheduler=$2 $extra --json --quiet 2>/dev/null |
            tail -1)
        secs=$(printf '%s' "$out" | sed -n 's/.*"seconds":\([0-9.e+-]*\).*/\1/p')
        n=$(printf '%s' "$out" | sed -n 's/.*"n_trials":\([0-9]*\).*/\1/p')
        rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }')
        printf "%-22s %6s %8s %10s\n" "$1+$2" "$np" "$n" "$rate"
    done
done
