#!/usr/bin/python3
"""scripts/exp_nas_inherit.py OUT: the tables of scripts/exp_nas_inherit.sh.

For every run (space, variant, seed) it reads the trials in number order
and counts, over the trials actually trained (reused results cost
nothing): training epochs and FLOPs (trial attribute train_flops) until the
space's best architecture is first trained, and the best validation loss
within the equal-compute budget (the smallest total FLOPs of any run of
that space), and at the end."""
import glob, json, os, sqlite3, statistics, sys

OUT = sys.argv[1]
BEST_GPT = "d_model=96 heads=2 layers=3 mlp_ratio=4"  # experiments/nas.md landscape, rank 1
BEST_GPT_VALUE = 2.6185                                # its val_loss from scratch


def trials(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = []
    for tid, num, state, value, reason in c.execute(
            "SELECT id, number, state, value, ifnull(reason,'') FROM trials ORDER BY number"):
        vals = {p.split(".")[1]: t for p, t in c.execute(
            "SELECT param, text FROM trial_values WHERE trial_id=? AND text IS NOT NULL AND value IS NOT NULL", (tid,))}
        attrs = dict(c.execute("SELECT key, value FROM trial_attrs WHERE trial_id=?", (tid,)))
        arch = " ".join("%s=%s" % (k, vals[k]) for k in sorted(vals) if vals[k] not in ("", "nan"))
        rows.append(dict(num=num, state=state, value=value if value is not None else float("nan"),
                         reused=reason.startswith("reused"), epochs=int(attrs.get("epochs", 0) or 0),
                         flops=float(attrs.get("train_flops", 0) or 0), arch=arch,
                         inherit=json.loads(attrs["inherit"]) if "inherit" in attrs else None))
    return rows


def mlp_best(out):
    db = os.path.join(out, "mlp-grid.db")
    if not os.path.exists(db):
        return None, None
    rows = [r for r in trials(db) if r["state"] == "complete" and not r["reused"]]
    b = min(rows, key=lambda r: r["value"])
    return b["arch"], b["value"]


def stats(rows, best_arch, budget, target):
    ep = fl = 0.0
    found = reached = None
    best_at_budget = best_end = float("inf")
    for r in rows:
        if r["state"] != "complete":
            continue
        if not r["reused"]:
            ep += r["epochs"]
            fl += r["flops"]
        if fl <= budget * (1 + 1e-9):
            best_at_budget = min(best_at_budget, r["value"])
        best_end = min(best_end, r["value"])
        if found is None and r["arch"] == best_arch:
            found = (r["num"], ep, fl)
        if reached is None and target is not None and r["value"] <= target + 5e-5:
            reached = (r["num"], ep, fl)
    inh = [r["inherit"] for r in rows if r["inherit"]]
    return dict(found=found, reached=reached, epochs=ep, flops=fl, at_budget=best_at_budget, end=best_end,
                children=len(inh), exact=sum(1 for i in inh if i.get("exact") == 1),
                scratch=sum(1 for i in inh if i.get("from") == "scratch"))


def ms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return "%.4g ± %.2g" % (statistics.mean(xs), statistics.stdev(xs)) if len(xs) > 1 else "%.4g" % xs[0]


def main():
    mlp_arch, mlp_val = mlp_best(OUT)
    print("MLP landscape best (grid, from scratch): %s val_loss %s\n" % (mlp_arch, mlp_val))
    for space, best, target in (("gpt", BEST_GPT, BEST_GPT_VALUE), ("mlp", mlp_arch, mlp_val)):
        runs = {}
        for db in sorted(glob.glob(os.path.join(OUT, "%s-*-*.db" % space))):
            _, variant, seed = os.path.basename(db)[:-3].split("-")
            runs[(variant, int(seed))] = trials(db)
        if not runs:
            continue
        budget = min(sum(r["flops"] for r in rows if not r["reused"]) for rows in runs.values())
        print("## %s space (best architecture: %s, val_loss %s from scratch); equal compute = %.3g training FLOPs\n"
              % (space, best, target, budget))
        print("| variant | seed | best arch trained at trial | epochs to it | FLOPs to it | target reached at trial "
              "| epochs to target | FLOPs to target | total epochs | total FLOPs "
              "| best val_loss at equal compute | best val_loss at end | children inherited (exact) | from scratch |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        agg = {}
        for (variant, seed), rows in sorted(runs.items()):
            s = stats(rows, best, budget, target)
            f, t = s["found"], s["reached"]
            print("| %s | %d | %s | %s | %s | %s | %s | %s | %d | %.3g | %.4f | %.4f | %d (%d) | %d |" % (
                variant, seed, f[0] if f else "not found", "%d" % f[1] if f else "-", "%.3g" % f[2] if f else "-",
                t[0] if t else "not reached", "%d" % t[1] if t else "-", "%.3g" % t[2] if t else "-",
                s["epochs"], s["flops"], s["at_budget"], s["end"], s["children"] - s["scratch"], s["exact"],
                s["scratch"]))
            a = agg.setdefault(variant, dict(ep=[], fl=[], bud=[], end=[], nf=0, tep=[], tfl=[], nt=0))
            a["tep"].append(t[1] if t else None)
            a["tfl"].append(t[2] if t else None)
            a["nt"] += t is not None
            a["ep"].append(f[1] if f else None)
            a["fl"].append(f[2] if f else None)
            a["nf"] += f is not None
            a["bud"].append(s["at_budget"])
            a["end"].append(s["end"])
        print("\n| variant | seeds that trained the best arch | epochs to it | FLOPs to it | seeds that reached "
              "the target | epochs to target | FLOPs to target | median | ratio (means) | ratio (medians) "
              "| best val_loss at equal compute | at end |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = agg.get("evo")
        for v, a in sorted(agg.items()):
            mean = lambda xs: statistics.mean([x for x in xs if x is not None] or [float("nan")])
            med = lambda xs: statistics.median([x for x in xs if x is not None] or [float("nan")])
            print("| %s | %d of %d | %s | %s | %d of %d | %s | %s | %.3g | %.2fx | %.2fx | %s | %s |" % (
                v, a["nf"], len(a["bud"]), ms(a["ep"]), ms(a["fl"]), a["nt"], len(a["bud"]), ms(a["tep"]),
                ms(a["tfl"]), med(a["tfl"]), mean(a["tfl"]) / mean(base["tfl"]) if base else float("nan"),
                med(a["tfl"]) / med(base["tfl"]) if base else float("nan"), ms(a["bud"]), ms(a["end"])))
        print()


main()
