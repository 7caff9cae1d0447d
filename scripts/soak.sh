#!/bin/bash
# Kill-and-resume soak: runs a small training study uninterrupted, then the
# same study again while SIGKILLing it at random moments and resuming it
# until it completes, for 1 and 2 workers; every completed trial of the
# killed run must equal the uninterrupted run's (parameters, value, budget,
# intermediate values: the export's columns less the clock's).
#   scripts/soak.sh [ROUNDS]      (default 3 rounds per worker count)
# Environment: SOAK_SEED (random kill times, default 1), SOAK_TRIALS (24),
# SOAK_EPOCHS (12), SOAK_MIN_MS/SOAK_MAX_MS (kill window, 100/1200 ms).
# The study is FIFO (no pruning), so with two workers too the completed
# trials do not depend on which finished first.
# Prints one line per round and a total; exits 1 on any difference.
set -u
cd "$(dirname "$0")/.."
[ -x ./tunelab ] || make -s tunelab >&2 || exit 2
rounds=${1:-3}
RANDOM=${SOAK_SEED:-1}
trials=${SOAK_TRIALS:-24}
epochs=${SOAK_EPOCHS:-12}
lo=${SOAK_MIN_MS:-100}
hi=${SOAK_MAX_MS:-1200}
dir=$(mktemp -d /tmp/tl-soakXXXXXX)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/soak.ini" <<INI
[data]
dataset = spirals
samples = 8000
noise = 0.1
[model]
hidden = 64
[train]
epochs = $epochs
batch_size = 16
threads = 1
[study]
trials = $trials
sampler = random
scheduler = fifo
[space]
train.lr = loguniform(1e-3, 1e-1)
model.hidden = int(16, 96)
INI

# The completed trials of a study, one line each: number, value, budget, the
# parameters and the intermediate values (the last column, whose JSON holds
# commas); not the clock's columns nor the attributes (timings).
completed() {
    ./tunelab export "$1" --csv | awk -F, '
        NR == 1 { h = NF; for (i = 1; i < NF; i++) keep[i] = $i ~ /^(number|value|budget|params_.*)$/; next }
        $2 == "complete" { line = ""; for (i = 1; i <= NF; i++) if (i >= h || keep[i]) line = line "," $i; print line }'
}

status=0
total_kills=0
total_trials=0
for w in 1 2; do
    ref="$dir/ref-w$w.db"
    OMP_NUM_THREADS=1 ./tunelab run "$dir/soak.ini" --set study.storage="$ref" --workers "$w" --quiet \
        >/dev/null 2>"$dir/ref.err" || { echo "soak: reference run failed:"; cat "$dir/ref.err"; exit 1; }
    completed "$ref" >"$dir/ref-w$w.txt"
    for r in $(seq 1 "$rounds"); do
        db="$dir/soak-w$w-r$r.db"
        kills=0
        for attempt in $(seq 1 500); do
            OMP_NUM_THREADS=1 ./tunelab run "$dir/soak.ini" --set study.storage="$db" --workers "$w" --quiet \
                >/dev/null 2>>"$dir/soak.err" &
            pid=$!
            ms=$((lo + RANDOM % (hi - lo + 1)))
            sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
            if kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; then
                wait "$pid" 2>/dev/null
                kills=$((kills + 1))
                continue
            fi
            wait "$pid"
            rc=$?
            [ "$rc" -eq 0 ] && break
            echo "soak: workers $w round $r: run exited $rc"; tail -3 "$dir/soak.err"; status=1; break
        done
        completed "$db" >"$dir/soak.txt"
        n=$(wc -l <"$dir/ref-w$w.txt")
        same=$(grep -cxFf "$dir/ref-w$w.txt" "$dir/soak.txt")
        got=$(wc -l <"$dir/soak.txt")
        if [ "$same" -ne "$n" ] || [ "$got" -ne "$n" ]; then
            status=1
            echo "soak: workers $w round $r: $kills SIGKILLs, $same of $n completed trials identical ($got completed): DIFFERENT"
            diff "$dir/ref-w$w.txt" "$dir/soak.txt" | head -10
        else
            echo "soak: workers $w round $r: $kills SIGKILLs, $same of $n completed trials identical"
        fi
        total_kills=$((total_kills + kills))
        total_trials=$((total_trials + same))
    done
done
echo "soak: total $total_kills SIGKILLs, $total_trials completed trials identical to the uninterrupted runs$([ $status -eq 0 ] || echo '; DIFFERENCES FOUND')"
exit $status
