#!/usr/bin/env bash
# scripts/exp_pbt.sh: the course's population-based training experiment
# (experiments/pbt.md).
#   toy     Jaderberg et al. 2017, fig. 2, through tunelab's PBT scheduler
#           (experiments/pbt-toy/pbt_toy.c, built here against
#           build/libtunelab.a): PBT, explore only, exploit only, grid search;
#           table to out/experiments/pbt/toy.txt, trajectories drawn to
#           $TUNELAB_FIGURES/pbt-toy.png
#   fmnist  experiments/pbt-fmnist.ini: PBT (4 members, 6 epochs, ready
#           every epoch) against random search with fixed values, 4 trials x
#           6 epochs (the same configurations to start with: same study seed);
#           then `tunelab pbt-replay` of the best member's schedule with the
#           same seed and with train.seed 2
#   gpt     the same on experiments/pbt-gpt.ini (character GPT, fortunes)
# then prints a markdown table (member-epochs, best validation loss, test
# accuracy or perplexity, seconds) and the discovered schedules, and draws
# them to $TUNELAB_FIGURES/pbt-{fmnist,gpt}-schedule.png.
#
#   scripts/exp_pbt.sh [--only toy|fmnist|gpt] [--table-only]
#
# Studies go to out/experiments/pbt/*.db (deleted first: every run
# starts fresh), JSON and logs next to them.  Does not: run studies in
# parallel (the machine has 2 cores), change the configs.  Needs make, cc,
# gnuplot, /usr/bin/python3.
#
# Figures go to $TUNELAB_FIGURES (default out/figures, not committed); to
# replace the committed ones, run with TUNELAB_FIGURES=experiments/figures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=out/experiments/pbt
FIG=${TUNELAB_FIGURES:-out/figures}
mkdir -p "$OUT" "$FIG"

only=""
table_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --table-only) table_only=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "exp_pbt.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if [ "$table_only" = 0 ]; then
  make -s build/libtunelab.a tunelab
fi

# ---- the toy ----
if [ "$table_only" = 0 ] && want toy; then
  MA=$(cc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  BLAS=/usr/lib/$MA/openblas-openmp
  cc -std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -I. -fopenmp \
    experiments/pbt-toy/pbt_toy.c tests/pbt_toy.c build/libtunelab.a -L"$BLAS" -Wl,-rpath,"$BLAS" \
    -lopenblas -lnlopt -lsqlite3 -linih -lcjson -lz -lm -lpthread -o build/pbt_toy
  rm -rf "$OUT/toy" "$OUT/toy-keep"
  build/pbt_toy --out "$OUT/toy" | tee "$OUT/toy.txt"
  build/pbt_toy --keep-values --out "$OUT/toy-keep" | tee "$OUT/toy-keep.txt"
  gnuplot <<EOF
set terminal pngcairo size 900,860 noenhanced font 'sans,10'
set output '$FIG/pbt-toy.png'
set multiplot layout 2,2 title "PBT toy (Jaderberg et al. 2017, fig. 2): theta over 50 steps, seed 1; circles: Q = 1.2 - r^2"
set size ratio -1
set xrange [0:1]
set yrange [0:1]
set xlabel 'theta0'
set ylabel 'theta1'
set key top left
do for [r in "0.25 0.5 0.75 1.0"] { set object circle at 0,0 size r+0 fs empty border lc rgb '#cccccc' dt 2 }
do for [v in "pbt explore_only exploit_only grid"] {
  set title v
  plot '$OUT/toy/'.v.'.dat' index 0 using 3:4 with linespoints pt 7 ps 0.4 lc rgb '#1f77b4' title 'member 0, h = (1, 0)', \
       '' index 1 using 3:4 with linespoints pt 7 ps 0.4 lc rgb '#d62728' title 'member 1, h = (0, 1)'
}
unset multiplot
EOF
fi

# ---- the two training tasks ----
run_task() {
  local task=$1 ini=$2
  local pbt=$OUT/pbt-$task.db rnd=$OUT/random-$task.db
  rm -rf "$pbt"* "$rnd"*
  echo "# $task: PBT: tunelab run $ini" >&2
  OMP_NUM_THREADS=2 NO_COLOR=1 ./tunelab run "$ini" --json >"$OUT/pbt-$task.jsonl" 2>"$OUT/pbt-$task.log"
  tail -n 1 "$OUT/pbt-$task.jsonl" >&2
  echo "# $task: random search, fixed values" >&2
  OMP_NUM_THREADS=2 NO_COLOR=1 ./tunelab run "$ini" --set study.scheduler=fifo \
    --set study.name="random-$task" --set study.storage="$rnd" --json \
    >"$OUT/random-$task.jsonl" 2>"$OUT/random-$task.log"
  tail -n 1 "$OUT/random-$task.jsonl" >&2
  echo "# $task: replay of the best member's schedule" >&2
  OMP_NUM_THREADS=2 NO_COLOR=1 ./tunelab pbt-replay "$pbt" --json \
    --plot "$FIG/pbt-$task-schedule.png" >"$OUT/replay-$task.json" 2>"$OUT/replay-$task.log"
  OMP_NUM_THREADS=2 NO_COLOR=1 ./tunelab pbt-replay "$pbt" --json --seed 2 \
    >"$OUT/replay-$task-seed2.json" 2>>"$OUT/replay-$task.log"
  # the random baseline's best, retrained with train.seed 2, for the same question
  best=$(/usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['retrain'])" "$OUT/random-$task.jsonl")
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=2 NO_COLOR=1 ./tunelab train ${best#tunelab train } --set train.seed=2 --json \
    >"$OUT/random-$task-seed2.jsonl" 2>>"$OUT/random-$task.log"
  rm -rf "$pbt.states" "$rnd.states"
}
if [ "$table_only" = 0 ]; then
  want fmnist && run_task fmnist experiments/pbt-fmnist.ini
  want gpt && run_task gpt experiments/pbt-gpt.ini
fi

/usr/bin/python3 - "$OUT" <<'PY'
import json, math, os, sys

out = sys.argv[1]

def last(path):
    with open(path) as f:
        return json.loads([l for l in f if l.strip()][-1])

def fmt(x, spec):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

print("| task | method | member-epochs | best val loss | test acc. / val ppl | seconds |")
print("|---|---|---|---|---|---|")
for task in ("fmnist", "gpt"):
    paths = [os.path.join(out, p % task) for p in
             ("pbt-%s.jsonl", "random-%s.jsonl", "replay-%s.json", "replay-%s-seed2.json",
              "random-%s-seed2.jsonl")]
    if not all(os.path.exists(p) for p in paths):
        continue
    pbt, rnd, rep, rep2, rnd2 = (last(p) for p in paths)
    def extra(d, acc_key, loss):
        if task == "fmnist":
            a = d.get(acc_key)
            return fmt(100 * a, ".2f") + "%" if a is not None else "-"
        return fmt(math.exp(loss), ".3f")
    rows = [
        ("PBT, best member", rep["pbt_member_epochs"], pbt["best_value"],
         extra(pbt, "test_accuracy", pbt["best_value"]), pbt["seconds"]),
        ("random search, fixed values", rnd["budget_used"], rnd["best_value"],
         extra(rnd, "test_accuracy", rnd["best_value"]), rnd["seconds"]),
        ("replay of PBT's schedule, same seed", rep["replay_epochs"], rep["replay_value"],
         extra(rep, "replay_test_accuracy", rep["replay_value"]), rep["replay_seconds"]),
        ("replay of PBT's schedule, train.seed 2", rep2["replay_epochs"], rep2["replay_value"],
         extra(rep2, "replay_test_accuracy", rep2["replay_value"]), rep2["replay_seconds"]),
        ("random search's best, train.seed 2", rnd2.get("epochs"), rnd2.get("val_loss"),
         extra(rnd2, "test_accuracy", rnd2.get("val_loss") or float("nan")), rnd2.get("seconds")),
    ]
    for name, work, val, ext, sec in rows:
        print("| %s | %s | %s | %s | %s | %s |" % (task, name, fmt(work, "g"), fmt(val, ".4f"),
                                                   ext, fmt(sec, ".0f")))
for task in ("fmnist", "gpt"):
    p = os.path.join(out, "replay-%s.json" % task)
    if not os.path.exists(p):
        continue
    rep = last(p)
    print("\n%s: schedule of the best member (trial %d), along its weights' history:\n"
          % (task, rep["best_trial"]))
    keys = list(rep["schedule"][0]["values"].keys())
    print("| epochs | trained by | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for s in rep["schedule"]:
        vals = []
        for k in keys:
            v = s["values"][k]
            vals.append(format(v, ".3g") if isinstance(v, (int, float)) else str(v))
        print("| %d-%d | trial %d | %s |" % (s["start"], s["end"], s["trial"], " | ".join(vals)))
PY
