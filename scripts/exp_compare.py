#!/usr/bin/env python3
"""Runs `tunelab train --json` for several variants of one config and
compares them: a markdown table on stdout and gnuplot learning curves.

    scripts/exp_compare.py NAME CONFIG 'label: --set k=v --set ...' ...
        [--x epoch|step] [--metric val_accuracy|val_loss|val_perplexity]

Per-epoch JSON lines go to out/experiments/NAME/<label>.jsonl, the figure
to $TUNELAB_FIGURES/NAME.png (default out/figures; TUNELAB_FIGURES=experiments/figures
replaces the committed figures) (and NAME-steps.png with --x both).
Only the Python standard library is used; gnuplot draws.
"""
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_variant(name, config, label, sets):
    out_dir = os.path.join(ROOT, "out", "experiments", name)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, label.replace(" ", "_").replace("/", "_") + ".jsonl")
    cmd = [os.path.join(ROOT, "tunelab"), "train", config, "--json"] + shlex.split(sets)
    print("# " + " ".join(shlex.quote(c) for c in cmd[1:]), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode not in (0, 1):
        sys.exit(f"{label}: tunelab failed ({res.returncode}):\n{res.stderr}")
    with open(path, "w") as f:
        f.write(res.stdout)
    lines = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
    epochs = [l for l in lines if "epoch" in l and "status" not in l]
    final = lines[-1]
    return path, epochs, final


def main():
    args = sys.argv[1:]
    x = "epoch"
    metric = "val_accuracy"
    while "--x" in args:
        i = args.index("--x")
        x = args[i + 1]
        del args[i:i + 2]
    while "--metric" in args:
        i = args.index("--metric")
        metric = args[i + 1]
        del args[i:i + 2]
    if len(args) < 3:
        sys.exit(__doc__)
    name, config, variants = args[0], args[1], args[2:]
    rows = []
    for v in variants:
        label, _, sets = v.partition(":")
        path, epochs, final = run_variant(name, config, label.strip(), sets.strip())
        rows.append((label.strip(), sets.strip(), path, epochs, final))

    up = metric != "val_loss" and metric != "val_perplexity"
    print(f"| variant | final {metric} | best {metric} (epoch) | final val_loss | test_accuracy | epochs | steps | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for label, sets, path, epochs, final in rows:
        vals = [(e[metric], e["epoch"]) for e in epochs if metric in e]
        best = max(vals) if up else min(vals)
        last = vals[-1][0] if vals else float("nan")
        fmt = (lambda v: f"{100 * v:.2f}%") if metric.endswith("accuracy") else (lambda v: f"{v:.4f}")
        test = final.get("test_accuracy")
        print(f"| {label} | {fmt(last)} | {fmt(best[0])} ({best[1]}) | {final.get('val_loss', float('nan')):.4f} | "
              f"{'%.2f%%' % (100 * test) if test is not None else '-'} | {final.get('epochs')} | "
              f"{final.get('steps')} | {final.get('seconds', 0):.1f} |")

    fig_dir = os.environ.get("TUNELAB_FIGURES", os.path.join(ROOT, "out", "figures"))
    os.makedirs(fig_dir, exist_ok=True)
    os.makedirs(fig_dir, exist_ok=True)
    for xk in (["epoch", "step"] if x == "both" else [x]):
        dat = []
        for label, sets, path, epochs, final in rows:
            dpath = path + f".{xk}.dat"
            with open(dpath, "w") as f:
                for e in epochs:
                    f.write(f"{e[xk]} {e.get(metric, float('nan'))}\n")
            dat.append((label, dpath))
        suffix = "-steps" if (x == "both" and xk == "step") else ""
        png = os.path.join(fig_dir, f"{name}{suffix}.png")
        plots = ", ".join(f"'{d}' using 1:2 with linespoints lw 2 title '{l}'" for l, d in dat)
        script = (f"set terminal pngcairo size 900,560 noenhanced font 'sans,10'\nset output '{png}'\n"
                  f"set title '{name}: {metric} against {xk}s'\nset xlabel '{xk}'\nset ylabel '{metric}'\n"
                  f"set grid\nset key bottom right\nplot {plots}\n")
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print(f"\nfigure: {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
