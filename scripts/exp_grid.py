#!/usr/bin/env python3
"""Tables and figures of the grid and grid-vs-random course experiments,
read from the study databases with `tunelab export --json`.

    scripts/exp_grid.py grid runs/grid.db
    scripts/exp_grid.py compare runs/gvr-grid.db runs/gvr-random-1.db ...
Standard library only; gnuplot draws into $TUNELAB_FIGURES (default out/figures;
TUNELAB_FIGURES=experiments/figures replaces the committed figures)."""
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIG = os.environ.get("TUNELAB_FIGURES", os.path.join(ROOT, "out", "figures"))


def export(db):
    out = subprocess.run([os.path.join(ROOT, "tunelab"), "export", db, "--json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def grid(db):
    d = export(db)
    rows = [t for t in d["trials"] if t["state"] == "complete"]
    lrs = sorted({float(t["params"]["train.lr"]) for t in rows})
    bss = sorted({int(t["params"]["train.batch_size"]) for t in rows})
    acc = {(float(t["params"]["train.lr"]), int(t["params"]["train.batch_size"])): t for t in rows}
    print("| lr \\ batch size | " + " | ".join(str(b) for b in bss) + " |")
    print("|---|" + "---|" * len(bss))
    for lr in lrs:
        cells = []
        for b in bss:
            t = acc.get((lr, b))
            cells.append(f"{100 * t['value']:.2f}% (test {100 * t['attrs'].get('test_accuracy', float('nan')):.2f}%)"
                         if t else "-")
        print(f"| {lr:g} | " + " | ".join(cells) + " |")
    dat = os.path.join(ROOT, "experiments", "results", "grid.dat")
    os.makedirs(os.path.dirname(dat), exist_ok=True)
    with open(dat, "w") as f:
        for i, lr in enumerate(lrs):
            for j, b in enumerate(bss):
                t = acc.get((lr, b))
                f.write(f"{j} {i} {100 * t['value'] if t else float('nan')}\n")
            f.write("\n")
    xt = ", ".join(f"'{b}' {j}" for j, b in enumerate(bss))
    yt = ", ".join(f"'{lr:g}' {i}" for i, lr in enumerate(lrs))
    gnuplot(f"""set terminal pngcairo size 700,520 noenhanced font 'sans,10'
set output '{FIG}/grid-heatmap.png'
set title 'grid: validation accuracy (%) after 5 epochs'
set xlabel 'batch size'; set ylabel 'learning rate'
set xtics ({xt}); set ytics ({yt})
set xrange [-0.5:{len(bss) - 0.5}]; set yrange [-0.5:{len(lrs) - 0.5}]
set palette rgbformulae 33,13,10
set view map
plot '{dat}' using 1:2:3 with image notitle, '' using 1:2:(sprintf('%.1f', $3)) with labels font 'sans,12' notitle
""")
    print(f"\nfigure: {FIG}/grid-heatmap.png", file=sys.stderr)


def compare(dbs):
    print("| study | distinct learning rates tried | best val_accuracy | its lr | test accuracy of the best |")
    print("|---|---|---|---|---|")
    series = []
    for db in dbs:
        d = export(db)
        rows = [t for t in d["trials"] if t["state"] == "complete"]
        lrs = sorted({float(t["params"]["train.lr"]) for t in rows})
        best = max(rows, key=lambda t: t["value"])
        name = d["study"]
        print(f"| {name} | {len(lrs)} | {100 * best['value']:.2f}% | {float(best['params']['train.lr']):.3g} | "
              f"{100 * best['attrs'].get('test_accuracy', float('nan')):.2f}% |")
        dat = os.path.join(ROOT, "experiments", "results", f"{name}.dat")
        with open(dat, "w") as f:
            for t in sorted(rows, key=lambda t: float(t["params"]["train.lr"])):
                f.write(f"{float(t['params']['train.lr'])} {100 * t['value']}\n")
        series.append((name, dat))
    plots = ", ".join(f"'{dat}' using 1:2 with points pt {7 if 'grid' in n else 6} ps 1.5 title '{n}'"
                      for n, dat in series)
    gnuplot(f"""set terminal pngcairo size 900,520 noenhanced font 'sans,10'
set output '{FIG}/grid-vs-random.png'
set title 'grid vs random search, 9 trials each: where the learning rates fell'
set logscale x; set format x '%.0e'; set xlabel 'learning rate'; set ylabel 'validation accuracy (%)'
set grid; set key bottom left
plot {plots}
""")
    print(f"\nfigure: {FIG}/grid-vs-random.png", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "grid":
        grid(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        compare(sys.argv[2:])
    else:
        sys.exit(__doc__)
