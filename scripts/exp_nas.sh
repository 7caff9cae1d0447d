#!/usr/bin/env bash
# scripts/exp_nas.sh: the architecture-search experiment (experiments/nas.md).
#
# Runs experiments/nas.ini (fortunes character GPT, 150 steps per
# architecture) for each seed in SEEDS with sampler = evolution, sampler =
# random, and evolution whose tournaments use the Pareto rank of
# (val_loss, params) ("evomo"), two runs at a time with one thread each;
# then, with GRID=1, every architecture of the space once (sampler = grid:
# the exact landscape, 96 more trainings).  Each architecture's result
# depends on the architecture alone (train.seed is fixed and trials run on
# one thread), so all runs share one landscape; without the grid, FILL=1
# (the default) trains with `tunelab train` only the architectures no run
# trained, which completes the landscape at little cost.  Then it dumps every trial
# to out/experiments/nas/<run>.tsv, writes the tables to
# out/experiments/nas/summary.md (and stdout), and draws
#   $TUNELAB_FIGURES/nas_best_evals.png   best val_loss vs evaluations
#   $TUNELAB_FIGURES/nas_best_steps.png   best val_loss vs training steps
#   $TUNELAB_FIGURES/nas_pareto.png       val_loss vs parameters, fronts
#
#   scripts/exp_nas.sh                 # SEEDS="1 2 3" TRIALS=30 GRID=0
#   SEEDS="1 2" TRIALS=20 VARIANTS="evolution random" scripts/exp_nas.sh
#   REUSE=1 scripts/exp_nas.sh         # tables and figures from the last runs
#                                      # (FILL still trains missing architectures)
#
# Databases go to runs/nas-*.db (ignored by git); running again resumes
# the studies (nothing is retrained).  Needs sqlite3, gnuplot and the
# Debian python3 (/usr/bin/python3).
#
# Figures go to $TUNELAB_FIGURES (default out/figures, not committed); to
# replace the committed ones, run with TUNELAB_FIGURES=experiments/figures.
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-"1 2 3"}
TRIALS=${TRIALS:-30}
GRID=${GRID:-0}
FILL=${FILL:-1}
VARIANTS=${VARIANTS:-"evolution random evomo"}
REUSE=${REUSE:-0}
OUT=out/experiments/nas
FIG=${TUNELAB_FIGURES:-out/figures}
CFG=experiments/nas.ini
mkdir -p "$OUT" "$FIG" runs

dump() { # db tsv
    sqlite3 -separator $'\t' "$1" "
      SELECT t.number, t.state, ifnull(t.value, 'nan'), t.budget,
             ifnull((SELECT value FROM trial_attrs a WHERE a.trial_id = t.id AND a.key = 'params'), ''),
             ifnull((SELECT value FROM trial_attrs a WHERE a.trial_id = t.id AND a.key = 'seconds'), ''),
             ifnull(t.parent, -1), ifnull(t.reason, ''),
             (SELECT group_concat(x, ' ') FROM
                (SELECT v.param || '=' || v.text AS x FROM trial_values v
                   JOIN study_params p ON p.study_id = t.study_id AND p.name = v.param
                  WHERE v.trial_id = t.id ORDER BY p.idx))
        FROM trials t ORDER BY t.number" > "$2"
}

run() { # name sampler seed trials [--set ...]
    local name=$1 sampler=$2 seed=$3 trials=$4 db=runs/$1.db
    shift 4
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE ./tunelab run "$CFG" --json --quiet \
        --set study.name="$name" --set study.storage="$db" --set study.sampler="$sampler" \
        --set study.seed="$seed" --set study.trials="$trials" "$@" >"$OUT/$name.json" 2>"$OUT/$name.log"
    dump "$db" "$OUT/$name.tsv"
}

slot() { # at most two runs at a time (two cores)
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
}

if [ "$REUSE" != 1 ]; then
    make -s tunelab
    t0=$(date +%s)
    for seed in $SEEDS; do
        echo "# seed $seed: $VARIANTS; $TRIALS trials each" >&2
        for v in $VARIANTS; do
            slot
            case $v in
            evolution | random) run "nas-$v-s$seed" "$v" "$seed" "$TRIALS" & ;;
            evomo) run "nas-evomo-s$seed" evolution "$seed" "$TRIALS" --set "nas.objectives=val_loss, params" & ;;
            *) echo "exp_nas.sh: unknown variant '$v' (evolution, random, evomo)" >&2; exit 2 ;;
            esac
        done
    done
    wait
    if [ "$GRID" = 1 ]; then
        echo "# grid: every architecture once, two workers" >&2
        run nas-grid grid 1 1000 --set study.workers=2
    fi
    echo "# machine time: $(( $(date +%s) - t0 )) s wall" >&2
fi

if [ "$FILL" = 1 ] && [ "$GRID" != 1 ]; then
    # Architectures of the space no run trained, trained once each (the
    # result depends on the architecture alone) -> $OUT/nas-fill.tsv.
    /usr/bin/python3 - "$OUT" "$CFG" <<'PY'
import glob, itertools, json, os, re, subprocess, sys, time
out, cfg = sys.argv[1], sys.argv[2]
space, sec = [], None
for line in open(cfg):
    line = line.split(";")[0].strip()
    if line.startswith("["):
        sec = line
    elif sec == "[space]" and "=" in line:
        k, e = (x.strip() for x in line.split("=", 1))
        m = re.match(r"choice\((.*)\)$", e) or re.match(r"int\((.*)\)$", e)
        vals = [v.strip() for v in m.group(1).split(",")]
        if e.startswith("int"):
            vals = [str(v) for v in range(int(vals[0]), int(vals[1]) + 1)]
        space.append((k, vals))
done = set()
for p in glob.glob(f"{out}/nas-*-s*.tsv") + ([f"{out}/nas-fill.tsv"] if os.path.exists(f"{out}/nas-fill.tsv") else []):
    for line in open(p):
        f = line.rstrip("\n").split("\t")
        if f[1] == "complete" and not f[7].startswith("reused"):
            done.add(f[8])
rows = []
for combo in itertools.product(*[v for _, v in space]):
    arch = " ".join(f"{k}={v}" for (k, _), v in zip(space, combo))
    if arch in done:
        continue
    sets = sum((["--set", f"{k}={v}"] for (k, _), v in zip(space, combo)), [])
    r = subprocess.run(["./tunelab", "train", cfg, "--json", "--quiet"] + sets, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    j = json.loads(r.stdout.strip().splitlines()[-1])
    rows.append(f"{-1 - len(rows)}\tcomplete\t{j['val_loss']}\t{j['epochs']}\t{j['params']}\t{j['seconds']:.3f}"
                f"\t-1\tfill\t{arch}\n")
    print(f"# fill: {arch}: val_loss {j['val_loss']:.4f}", file=sys.stderr)
with open(f"{out}/nas-fill.tsv", "a") as f:
    f.writelines(rows)
PY
fi

/usr/bin/python3 - "$OUT" "$FIG" "$SEEDS" <<'PY'
import glob, math, os, statistics as st, subprocess, sys

out, fig, seeds = sys.argv[1], sys.argv[2], sys.argv[3].split()
STEPS_PER_EVAL = 50  # train.steps_per_epoch in experiments/nas.ini

def load(path):
    rows = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        rows.append(dict(n=int(f[0]), state=f[1], value=float(f[2]), budget=float(f[3]),
                         params=float(f[4]) if f[4] else math.nan,
                         secs=float(f[5]) if f[5] else 0.0, parent=int(f[6]),
                         reason=f[7], arch=f[8]))
    return rows

def curves(rows):
    """best-so-far after each trial, with cumulative training steps"""
    best, steps, ev, st_ = math.inf, 0.0, [], []
    for r in rows:
        steps += r["budget"] * STEPS_PER_EVAL
        if r["state"] == "complete" and r["value"] < best:
            best = r["value"]
        ev.append(best)
        st_.append(steps)
    return ev, st_

SAMPLERS = [("evolution", "evolution"), ("random", "random"),
            ("evomo", "evolution on (val_loss, params)")]
runs = {}
for s, _ in SAMPLERS:
    for seed in seeds:
        p = f"{out}/nas-{s}-s{seed}.tsv"
        if os.path.exists(p):
            runs[(s, seed)] = load(p)
grid = load(f"{out}/nas-grid.tsv") if os.path.exists(f"{out}/nas-grid.tsv") else None
label = dict(SAMPLERS, grid="grid (every architecture)")
# An architecture's result depends on it alone, so without the grid the
# union of what the runs trained is the landscape seen so far.
land = grid
fill = load(f"{out}/nas-fill.tsv") if os.path.exists(f"{out}/nas-fill.tsv") else []
if not land:
    seen = {}
    for rr in list(runs.values()) + [fill]:
        for r in rr:
            if r["state"] == "complete" and not r["reason"].startswith("reused"):
                seen.setdefault(r["arch"], r)
    land = list(seen.values())

def short(arch):
    return arch.replace("model.", "")

lines = []
P = lines.append
if land:
    g = sorted((r for r in land if r["state"] == "complete"), key=lambda r: r["value"])
    what = ("sampler = grid, every architecture once" if grid else
            f"every architecture some run trained, and {len(fill)} that none did, trained once")
    P(f"Landscape ({what}): {len(g)} architectures, "
      f"val_loss from {g[0]['value']:.4f} to {g[-1]['value']:.4f}; the best 5:\n")
    P("| rank | val_loss | params | architecture |\n|---:|---:|---:|---|")
    for i, r in enumerate(g[:5]):
        P(f"| {i+1} | {r['value']:.4f} | {r['params']:.0f} | {short(r['arch'])} |")
    P("")
    rank_of = {r["arch"]: i + 1 for i, r in enumerate(g)}
else:
    rank_of = {}

def front(points):
    """the non-dominated (params, val_loss, arch) points, ascending params"""
    f, best = [], math.inf
    for p, v, a in sorted(points, key=lambda t: (t[0], t[1])):
        if v < best:
            f.append((p, v, a))
            best = v
    return f

land_front = {a for _, _, a in front({(r["params"], r["value"], r["arch"]) for r in land})} if land else set()

def front_hits(rows):
    return sum(1 for r in rows if r["arch"] in land_front and r["state"] == "complete"
               and not r["reason"].startswith("reused"))

P("| sampler | seed | best val_loss | found at trial | landscape rank | trained | reused | training steps | seconds | "
  f"on the landscape's front (of {len(land_front)}) | best architecture |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for (s, seed), rows in sorted(runs.items()):
    comp = [r for r in rows if r["state"] == "complete"]
    b = min(comp, key=lambda r: (r["value"], r["n"]))
    first = min(r["n"] for r in comp if r["value"] == b["value"])
    reused = sum(1 for r in rows if r["reason"].startswith("reused result"))
    steps = sum(r["budget"] for r in rows) * STEPS_PER_EVAL
    secs = sum(r["secs"] for r in rows)
    P(f"| {label[s]} | {seed} | {b['value']:.4f} | {first} | {rank_of.get(b['arch'], '-')} | {len(rows)-reused} | "
      f"{reused} | {steps:.0f} | {secs:.0f} | {front_hits(rows)} | {short(b['arch'])} ({b['params']:.0f} params) |")
P("")

def fmt(v):
    return f"{st.mean(v):.4f} ± {st.stdev(v):.4f}" if len(v) > 1 else (f"{v[0]:.4f}" if v else "-")

# best-so-far at equal evaluations and at equal steps, mean ± sd over seeds
n_eval = max((len(r) for r in runs.values()), default=0)
marks = [10, 20, n_eval]
budgets = [1500, 3000, 4500]
P("Best val_loss so far, mean ± sd over seeds " + ", ".join(seeds) + ":\n")
P("| sampler | " + " | ".join(f"after {m} evals" for m in marks) + " | " +
  " | ".join(f"within {k} steps" for k in budgets) + " |")
P("|---|" + "---:|" * (len(marks) + len(budgets)))
for s, name in SAMPLERS:
    mine = [r for (ss, _), r in sorted(runs.items()) if ss == s]
    if not mine:
        continue
    cells = [fmt([curves(r)[0][min(m, len(r)) - 1] for r in mine]) for m in marks]
    for k in budgets:
        v = []
        for r in mine:
            ev, stp = curves(r)
            ok = [e for e, x in zip(ev, stp) if x <= k]
            v.append(ok[-1] if ok else math.inf)
        cells.append(fmt(v))
    P(f"| {name} | " + " | ".join(cells) + " |")
P("")

# Pareto fronts (val_loss, params) over the union of each sampler's runs

def points(s):
    rows = grid if s == "grid" else [r for (ss, _), rr in runs.items() if ss == s for r in rr]
    return {(r["params"], r["value"], r["arch"]) for r in rows
            if r["state"] == "complete" and not r["reason"].startswith("reused") and not math.isnan(r["params"])}

fronts = {}
order = [s for s, _ in SAMPLERS if any(ss == s for ss, _ in runs)] + (["grid"] if grid else [])
for s in order:
    fronts[s] = front(points(s))
    true = land_front
    hit = (f" ({sum(1 for _, _, a in fronts[s] if a in true)} of them on the front of the landscape)"
           if true and s != "grid" else "")
    P(f"Pareto front, {label[s]}, all seeds together: {len(fronts[s])} architectures{hit}: " +
      "; ".join(f"{p:.0f} params {v:.4f} ({short(a)})" for p, v, a in fronts[s]))
    P("")

text = "\n".join(lines)
open(f"{out}/summary.md", "w").write(text + "\n")
print(text)

# data files and figures
def dat(name, xs, ys):
    with open(f"{out}/{name}.dat", "w") as f:
        for x, y in zip(xs, ys):
            f.write(f"{x} {y}\n")

for (s, seed), rows in runs.items():
    ev, stp = curves(rows)
    dat(f"{s}-s{seed}-evals", range(1, len(ev) + 1), ev)
    dat(f"{s}-s{seed}-steps", stp, ev)
colors = {"evolution": "#d62728", "random": "#1f77b4", "evomo": "#ff7f0e", "grid": "#7f7f7f"}
best_all = min(r["value"] for r in land if r["state"] == "complete") if land else None
best_title = "best of all architectures"

def plot(png, kind, xlabel):
    cmd = [f"set terminal pngcairo size 900,560 noenhanced font ',11'", f"set output '{fig}/{png}'",
           "set grid", f"set xlabel '{xlabel}'", "set ylabel 'best val_loss so far (nats/char)'",
           "set key top right"]
    pl = []
    for s, name in SAMPLERS:
        first = True
        for seed in seeds:
            p = f"{out}/{s}-s{seed}-{kind}.dat"
            if os.path.exists(p):
                t = f"title '{name} (seeds {', '.join(seeds)})'" if first else "notitle"
                dt = "dt 3" if s == "evomo" else ""
                pl.append(f"'{p}' using 1:2 with steps lw 2 {dt} lc rgb '{colors[s]}' {t}")
                first = False
    if best_all is not None:
        pl.append(f"{best_all} with lines dt 2 lc rgb '#2ca02c' title '{best_title}'")
    cmd.append("plot " + ", ".join(pl))
    subprocess.run(["gnuplot"], input="\n".join(cmd) + "\n", text=True, check=True)

plot("nas_best_evals.png", "evals", "evaluations (trials, reused results included)")
plot("nas_best_steps.png", "steps", "training steps spent (150 per trained architecture)")

cmd = [f"set terminal pngcairo size 900,560 noenhanced font ',11'", f"set output '{fig}/nas_pareto.png'",
       "set grid", "set logscale x", "set format x '%g'", "set xlabel 'parameters'",
       "set ylabel 'val_loss after 150 steps (nats/char)'", "set key top right"]
pl = []
if land and not grid:  # the whole landscape in grey, its front dashed
    with open(f"{out}/land-points.dat", "w") as f:
        for r in land:
            f.write(f"{r['params']} {r['value']}\n")
    with open(f"{out}/land-front.dat", "w") as f:
        for p, v, a in front({(r["params"], r["value"], r["arch"]) for r in land}):
            f.write(f"{p} {v}\n")
    pl.append(f"'{out}/land-points.dat' using 1:2 with points pt 1 ps 0.7 lc rgb '#9f9f9f' title 'all {len(land)} architectures'")
    pl.append(f"'{out}/land-front.dat' using 1:2 with steps lw 1 dt 2 lc rgb '#5f5f5f' title 'front of all architectures'")
for s in (["grid"] if grid else []) + [s for s in ("random", "evolution", "evomo") if s in fronts]:
    with open(f"{out}/{s}-points.dat", "w") as f:
        for p, v, a in sorted(points(s)):
            f.write(f"{p} {v}\n")
    with open(f"{out}/{s}-front.dat", "w") as f:
        for p, v, a in fronts[s]:
            f.write(f"{p} {v}\n")
    pt = {"grid": 1, "random": 6, "evolution": 7, "evomo": 9}[s]
    ps = 0.6 if s == "grid" else 1.0
    pl.append(f"'{out}/{s}-points.dat' using 1:2 with points pt {pt} ps {ps} lc rgb '{colors[s]}' notitle")
    pl.append(f"'{out}/{s}-front.dat' using 1:2 with steps lw 2 lc rgb '{colors[s]}' title '{label[s]}: front'")
cmd.append("plot " + ", ".join(pl))
subprocess.run(["gnuplot"], input="\n".join(cmd) + "\n", text=True, check=True)
PY
