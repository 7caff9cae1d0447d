#!/usr/bin/env bash
# scripts/exp_hyperband.sh: the course's Hyperband experiment.  Runs
# experiments/hyperband.ini five ways (same space, same study seed, so trial
# k gets the same random configuration in every variant):
#   random     fifo, 12 trials x 9 epochs (full budget for every trial)
#   sha        successive halving, 27 trials (27 @ 1, 9 @ 3, 3 @ 9 epochs)
#   hyperband  one cycle of brackets, 17 trials (9@1 3@3 1@9 | 5@3 1@9 | 3@9)
#   asha       asynchronous successive halving, 27 trials
#   bohb       bayes sampler + hyperband, 17 trials
# then prints a markdown table (best validation accuracy of a trial trained
# to the full 9 epochs, its test accuracy, total epochs consumed, epochs
# until random search's best was matched, seconds) and draws best-so-far
# validation accuracy against cumulative epochs to
# $TUNELAB_FIGURES/hyperband.png.
#
#   scripts/exp_hyperband.sh [--only NAME] [--plot-only]
#
# Per-trial JSON lines (one per finished or paused job) go to
# out/experiments/hyperband/NAME.jsonl; studies to
# runs/exp-hyperband/NAME.db (deleted first: every run starts fresh).
# Does not: run variants in parallel (the machine has 2 cores), change the
# config file.  Needs ./tunelab (make tunelab), gnuplot, /usr/bin/python3.
#
# Figures go to $TUNELAB_FIGURES (default out/figures, not committed); to
# replace the committed ones, run with TUNELAB_FIGURES=experiments/figures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=out/experiments/hyperband
RUNS=runs/exp-hyperband
FIGDIR=${TUNELAB_FIGURES:-out/figures}
FIG=$FIGDIR/hyperband.png
mkdir -p "$OUT" "$RUNS" "$FIGDIR"

VARIANTS=(
  "random|--set study.scheduler=fifo --set study.trials=12"
  "sha|--set study.scheduler=sha --set study.trials=27"
  "hyperband|--set study.scheduler=hyperband --set study.trials=17"
  "asha|--set study.scheduler=asha --set study.trials=27"
  "bohb|--set study.scheduler=hyperband --set study.sampler=bayes --set study.trials=17"
)

only=""
plot_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --plot-only) plot_only=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "exp_hyperband.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

[ -x ./tunelab ] || { echo "exp_hyperband.sh: build ./tunelab first (make tunelab)" >&2; exit 2; }

if [ "$plot_only" = 0 ]; then
  for v in "${VARIANTS[@]}"; do
    name=${v%%|*}
    sets=${v#*|}
    [ -n "$only" ] && [ "$only" != "$name" ] && continue
    rm -rf "$RUNS/$name.db" "$RUNS/$name.db-wal" "$RUNS/$name.db-shm" "$RUNS/$name.db.states"
    echo "# $name: tunelab run experiments/hyperband.ini $sets" >&2
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=2 NO_COLOR=1 ./tunelab run experiments/hyperband.ini $sets \
      --set study.name="hb-$name" --set study.storage="$RUNS/$name.db" --json \
      >"$OUT/$name.jsonl" 2>"$OUT/$name.log"
    rm -rf "$RUNS/$name.db.states" # paused trials' checkpoints: not needed afterwards
    tail -n 1 "$OUT/$name.jsonl" >&2
  done
fi

/usr/bin/python3 - "$OUT" "$FIG" <<'PY'
import json, os, subprocess, sys

out, fig = sys.argv[1], sys.argv[2]
names = ["random", "sha", "hyperband", "asha", "bohb"]
curves, rows = {}, {}
for name in names:
    path = os.path.join(out, name + ".jsonl")
    if not os.path.exists(path):
        continue
    lines = [json.loads(l) for l in open(path) if l.strip()]
    summary = lines[-1]
    used, cum, best, pts = {}, 0.0, None, [(0.0, None)]
    for l in lines[:-1]:
        cum += l["budget"] - used.get(l["trial"], 0.0)
        used[l["trial"]] = l["budget"]
        if l["state"] == "complete" and (best is None or l["value"] > best):
            best = l["value"]
        pts.append((cum, best))
    curves[name] = pts
    rows[name] = dict(best=summary.get("best_value"), test=summary.get("test_accuracy"),
                      epochs=summary["budget_used"], trials=summary["n_trials"],
                      complete=summary["n_complete"], seconds=summary["seconds"])

target = rows.get("random", {}).get("best")
print("| method | trials | trained to 9 epochs | best val acc | its test acc | epochs consumed "
      "| epochs to reach random's best | seconds |")
print("|---|---|---|---|---|---|---|---|")
for name in names:
    if name not in rows:
        continue
    r = rows[name]
    reach = "-"
    if target is not None:
        hit = [c for c, b in curves[name] if b is not None and b >= target]
        reach = "%g" % hit[0] if hit else "not reached"
    pct = lambda v: "%.2f%%" % (100 * v) if v is not None else "-"
    print("| %s | %d | %d | %s | %s | %g | %s | %.0f |" % (name, r["trials"], r["complete"],
          pct(r["best"]), pct(r["test"]), r["epochs"], reach, r["seconds"]))

script = ["set terminal pngcairo size 900,560 font ',11'", "set output '%s'" % fig,
          "set xlabel 'epochs consumed by the study (cumulative)'",
          "set ylabel 'best validation accuracy of a trial trained to 9 epochs'",
          "set key bottom right", "set grid", "set yrange [0.80:0.89]",
          "set title 'Fashion-MNIST MLP, 20000 training images, one study seed (dashed: random search best)'"]
if target is not None:
    script.append("set arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc 'gray'"
                  % (target, target))
plots = []
for name in curves:
    pts = [(c, b) for c, b in curves[name] if b is not None]
    if not pts:
        continue
    last = max(c for c, _ in curves[name])
    pts.append((last, pts[-1][1]))
    script.append("$%s << EOD" % name)
    script += ["%g %g" % p for p in pts]
    script.append("EOD")
    style = {"hyperband": "lw 5", "asha": "lw 2 dt 2", "sha": "lw 2", "bohb": "lw 2 dt 4"}
    plots.append("$%s using 1:2 with steps %s title '%s'" % (name, style.get(name, "lw 2"), name))
script.append("plot " + ", ".join(plots))
subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True)
print("\nfigure: %s" % fig)
PY
