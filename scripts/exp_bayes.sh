#!/usr/bin/env bash
# scripts/exp_bayes.sh: the course's Bayesian-optimization experiment.  Runs
# experiments/bayes.ini (Fashion-MNIST MLP: lr, weight decay, dropout, batch
# size, hidden width; 20 trials of 3 epochs on 10000 images) four ways, for
# each seed:
#   ei      bayes, expected improvement (xi 0)
#   ucb     bayes, upper confidence bound (beta 2)
#   pi      bayes, probability of improvement (xi 0.01)
#   random  random search
# then prints markdown tables (best validation accuracy, the test accuracy
# of that best configuration, how spread the suggestions were in the unit
# cube) and draws the best validation accuracy so far against trials (mean
# over the seeds, thin lines per seed) to $TUNELAB_FIGURES/bayes.png.
# Finally it writes `tunelab report ... --gp-param train.lr,train.weight_decay`
# for the ei study of the first seed to reports/exp-bayes/ and copies its
# GP figures to $TUNELAB_FIGURES/bayes_gp_*.png.
#
#   scripts/exp_bayes.sh [--seeds "1 2 3 4 5"] [--only NAME] [--plot-only]
#
# Studies: runs/exp-bayes/NAME-sSEED.db (deleted first: every run starts
# fresh); run summaries and logs: out/experiments/bayes/.  With two
# workers the order in which trials finish depends on timing, so a bayes
# study is not bit-reproducible (random search is).  Does not: run studies
# in parallel (2 workers already use both cores), change the config file.
# Needs ./tunelab (make tunelab), gnuplot, /usr/bin/python3.
#
# Figures go to $TUNELAB_FIGURES (default out/figures, not committed); to
# replace the committed ones, run with TUNELAB_FIGURES=experiments/figures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=out/experiments/bayes
RUNS=runs/exp-bayes
FIGDIR=${TUNELAB_FIGURES:-out/figures}
FIG=$FIGDIR/bayes.png
REP=reports/exp-bayes
mkdir -p "$OUT" "$RUNS" "$FIGDIR"

VARIANTS=(
  "ei|--set study.acquisition=ei"
  "ucb|--set study.acquisition=ucb --set study.beta=2"
  "pi|--set study.acquisition=pi --set study.xi=0.01"
  "random|--set study.sampler=random"
)

seeds="1 2 3 4 5"
only=""
plot_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --plot-only) plot_only=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "exp_bayes.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

[ -x ./tunelab ] || { echo "exp_bayes.sh: build ./tunelab first (make tunelab)" >&2; exit 2; }

if [ "$plot_only" = 0 ]; then
  for s in $seeds; do
    for v in "${VARIANTS[@]}"; do
      name=${v%%|*}
      sets=${v#*|}
      [ -n "$only" ] && [ "$only" != "$name" ] && continue
      db="$RUNS/$name-s$s.db"
      rm -f "$db" "$db-wal" "$db-shm"
      echo "# $name seed $s: tunelab run experiments/bayes.ini $sets --set study.seed=$s" >&2
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=1 NO_COLOR=1 ./tunelab run experiments/bayes.ini $sets --set study.seed="$s" \
        --set study.name="bayes-$name-s$s" --set study.storage="$db" --json \
        >"$OUT/$name-s$s.jsonl" 2>"$OUT/$name-s$s.log"
      tail -n 1 "$OUT/$name-s$s.jsonl" >&2
      ./tunelab export "$db" --json >"$OUT/$name-s$s.json"
    done
  done
fi

/usr/bin/python3 - "$OUT" "$FIG" "$seeds" <<'PY'
import json, math, os, re, subprocess, sys

out, fig, seeds = sys.argv[1], sys.argv[2], sys.argv[3].split()
names = ["ei", "ucb", "pi", "random"]
N_INIT = 6  # study.n_init in experiments/bayes.ini


def unit_fn(expr):
    """The unit-cube coordinate of a value, as hpo/space.c space_to_unit."""
    kind, a, b = re.match(r"(\w+)\(([^,]+),\s*([^,)]+)", expr).groups()
    a, b = float(a), float(b)
    if kind == "uniform":
        return lambda v: (v - a) / (b - a)
    if kind == "loguniform":
        return lambda v: (math.log(v) - math.log(a)) / (math.log(b) - math.log(a))
    if kind == "logint":
        la, lb = math.log(a - 0.5), math.log(b + 0.5)
        return lambda v: (0.5 * (math.log(v - 0.5) + math.log(v + 0.5)) - la) / (lb - la)
    if kind == "int":
        return lambda v: (v - a + 0.5) / (b - a + 1)
    raise SystemExit("exp_bayes: cannot map %s" % expr)


def dist(p, q):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(p, q)))


rows, curves = {}, {}
for name in names:
    for s in seeds:
        path = os.path.join(out, "%s-s%s.json" % (name, s))
        if not os.path.exists(path):
            continue
        j = json.load(open(path))
        units = [(p["name"], unit_fn(p["expr"])) for p in j["space"]]
        trials = sorted(j["trials"], key=lambda t: t["number"])
        best, curve, bt = None, [], None
        for t in trials:
            if t["state"] == "complete" and t["value"] is not None and (best is None or t["value"] > best):
                best, bt = t["value"], t
            curve.append(best)
        curves[(name, s)] = curve
        U = [[f(float(t["params"][n])) for n, f in units] for t in trials]
        gp = range(N_INIT, len(U))  # the GP-guided part (random: the same trial numbers)
        consec = [dist(U[k], U[k - 1]) for k in gp]
        nearest = [min(dist(U[k], U[i]) for i in range(k)) for k in gp]
        cells = {tuple(int(x >= 0.5) for x in U[k]) for k in gp}
        edge = sum(1 for k in gp for x in U[k] if x < 0.02 or x > 0.98) / max(1, len(gp) * len(units))
        secs = sum(t["duration"] or 0 for t in trials)
        rows[(name, s)] = dict(best=best, trial=bt["number"], test=bt["attrs"].get("test_accuracy"),
                               params=bt["params"], consec=sum(consec) / len(consec),
                               nearest=sum(nearest) / len(nearest), cells=len(cells), edge=edge, secs=secs,
                               n=len(trials))

print("| sampler | seed | best val acc | trial | test acc of best | lr | weight decay | dropout | batch | hidden |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in names:
    for s in seeds:
        r = rows.get((name, s))
        if not r:
            continue
        p = r["params"]
        print("| %s | %s | %.2f%% | %d | %.2f%% | %.3g | %.3g | %.2f | %d | %d |" % (
            name, s, 100 * r["best"], r["trial"], 100 * (r["test"] or float("nan")), float(p["train.lr"]),
            float(p["train.weight_decay"]), float(p["model.dropout"]), int(float(p["train.batch_size"])), int(float(p["model.hidden"]))))
print()
print("Trials %d..19 (after the 6-point initial design), unit-cube coordinates:" % N_INIT)
print()
print("| sampler | seed | mean step between consecutive trials | mean distance to nearest earlier trial "
      "| half-cube cells visited (of 32) | coordinates at a bound (<0.02 or >0.98) | trial-seconds |")
print("|---|---|---|---|---|---|---|")
for name in names:
    for s in seeds:
        r = rows.get((name, s))
        if r:
            print("| %s | %s | %.3f | %.3f | %d | %.0f%% | %.0f |" % (
                name, s, r["consec"], r["nearest"], r["cells"], 100 * r["edge"], r["secs"]))

# the same, averaged over the seeds
def mean_sd(v):
    m = sum(v) / len(v)
    return m, (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0


print()
print("Mean (sd) over %d seeds:" % len(seeds))
print()
print("| sampler | best val acc after 10 trials | after 20 | test acc of best | mean step | "
      "distance to nearest earlier | cells visited |")
print("|---|---|---|---|---|---|---|")
for name in names:
    rs = [rows[(name, s)] for s in seeds if (name, s) in rows]
    if not rs:
        continue
    c10 = [100 * curves[(name, s)][9] for s in seeds if (name, s) in rows]
    cell = lambda v, f="%.2f": (f + " (" + f + ")") % mean_sd(v)
    print("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, cell(c10), cell([100 * r["best"] for r in rs]), cell([100 * (r["test"] or float("nan")) for r in rs]),
        cell([r["consec"] for r in rs], "%.3f"), cell([r["nearest"] for r in rs], "%.3f"),
        cell([r["cells"] for r in rs], "%.1f")))

# best so far against trials: per seed (thin) and the mean over seeds (thick)
colors = {"ei": "#1f77b4", "ucb": "#ff7f0e", "pi": "#2ca02c", "random": "#7f7f7f"}
script = ["set terminal pngcairo size 900,560 font 'sans,11'", "set output '%s'" % fig,
          "set title 'Fashion-MNIST MLP, 5 hyperparameters: best validation accuracy so far (%s seeds)'" % len(seeds),
          "set xlabel 'trials'", "set ylabel 'best validation accuracy so far (%)'", "set grid",
          "set key bottom right", "set xrange [0.5:20.5]",
          "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb '#999999'" % (N_INIT + 0.5, N_INIT + 0.5),
          "set label 'initial design | GP' at %g, graph 0.95 center tc rgb '#777777' front" % (N_INIT + 0.5)]
plots = []
for name in names:
    got = [curves[(name, s)] for s in seeds if (name, s) in curves]
    if not got:
        continue
    block = "$%s" % name
    script.append("%s << EOD" % block)
    n = min(len(c) for c in got)
    # x = trial count; the last row again at n + 1 so that `steps` draws the last level
    for x, k in [(k + 1, k) for k in range(n)] + [(n + 1, n - 1)]:
        vals = [c[k] for c in got if c[k] is not None]
        mean = sum(vals) / len(vals) if vals else float("nan")
        script.append("%d %s %s" % (x, 100 * mean, " ".join(str(100 * c[k]) if c[k] else "NaN" for c in got)))
    script.append("EOD")
    for i in range(len(got)):
        plots.append("%s using 1:%d with steps lw 1 dt 3 lc rgb '%s' notitle" % (block, i + 3, colors[name]))
    plots.append("%s using 1:2 with steps lw 3 lc rgb '%s' title '%s (mean)'" % (block, colors[name], name))
# y from just below the worst mean at the end of the initial design: the
# first Sobol points (far worse) would squash the part that matters
lows = []
for name in names:
    got = [curves[(name, s)][N_INIT - 1] for s in seeds if (name, s) in curves]
    got = [g for g in got if g is not None]
    if got:
        lows.append(100 * sum(got) / len(got))
if lows:
    script.append("set yrange [%g:*]" % (math.floor(min(lows)) - 2))
script.append("plot " + ", \\\n  ".join(plots))
subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True)
print("\nfigure: %s" % fig, file=sys.stderr)
PY

# The GP section of the report for one study, for the write-up.
first=${seeds%% *}
if [ -f "$RUNS/ei-s$first.db" ]; then
  ./tunelab report "$RUNS/ei-s$first.db" -o "$REP/ei-s$first" --gp-param train.lr,train.weight_decay >&2
  for f in "$REP/ei-s$first"/gp_*.png; do
    [ -f "$f" ] && cp "$f" "$FIGDIR/bayes_$(basename "$f")"
  done
fi
