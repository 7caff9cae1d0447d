#!/usr/bin/env bash
# scripts/exp_nas_inherit.sh: weight inheritance in evolutionary NAS
# (issue 19, experiments/nas.md "Weight inheritance").
#
# For each seed in SEEDS (GPT) and MLP_SEEDS (MLP), on the GPT space
# (experiments/nas.ini) and on the MLP space (experiments/nas-mlp.ini):
# regularized evolution without inheritance (every architecture trained
# from scratch, train.epochs) and with it (nas.inherit = true: the random
# first population trains nas.seed_epochs = SEED epochs, a mutated child
# trains nas.child_epochs = CHILD epochs from its parent's morphed weights;
# the MLP space takes its own nas.* settings from experiments/nas-mlp.ini:
# population 5, seeds 1 epoch, children 2), TRIALS trials each, two
# runs at a time with one thread each.  The MLP space's landscape (all 84
# architectures from scratch) comes from a grid run; the GPT space's best
# architecture is taken from experiments/nas.md's landscape (BEST_GPT).
# Then scripts/exp_nas_inherit.py prints the table.
#
#   scripts/exp_nas_inherit.sh   # SEEDS="1 2 3" MLP_SEEDS="1 ... 20" TRIALS=30 CHILD=1 SEED=1
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS-"1 2 3"}   # SEEDS="": the MLP space only
TRIALS=${TRIALS:-30}
MLP_SEEDS=${MLP_SEEDS:-"$(seq -s ' ' 1 20)"}
CHILD=${CHILD:-1}
SEED=${SEED:-1}
OUT=${OUT:-out/experiments/nas-inherit}
mkdir -p "$OUT"

run() { # db ini seed [--set ...]
    local db=$1 ini=$2 seed=$3
    shift 3
    rm -rf "$db" "$db.states"
    nice ./tunelab run "$ini" --set study.storage="$db" --set study.seed="$seed" --set study.trials="$TRIALS" "$@" \
        > "$db.log" 2>&1
}

INH=(--set nas.inherit=true --set nas.child_epochs="$CHILD" --set nas.seed_epochs="$SEED")
start=$(date +%s)
for s in $SEEDS; do
    run "$OUT/gpt-evo-$s.db" experiments/nas.ini "$s" &
    run "$OUT/gpt-inh-$s.db" experiments/nas.ini "$s" "${INH[@]}" &
    wait
done
for s in $MLP_SEEDS; do
    run "$OUT/mlp-evo-$s.db" experiments/nas-mlp.ini "$s" &
    run "$OUT/mlp-inh-$s.db" experiments/nas-mlp.ini "$s" --set nas.inherit=true &
    wait
done
# the MLP landscape: every architecture once, from scratch
rm -rf "$OUT/mlp-grid.db"
nice ./tunelab run experiments/nas-mlp.ini --set study.storage="$OUT/mlp-grid.db" --set study.sampler=grid \
    --set study.trials=84 > "$OUT/mlp-grid.log" 2>&1 || echo "grid run failed (see $OUT/mlp-grid.log)"
echo "wall: $(( $(date +%s) - start )) s" | tee "$OUT/wall.txt"
/usr/bin/python3 scripts/exp_nas_inherit.py "$OUT" | tee "$OUT/summary.md"
