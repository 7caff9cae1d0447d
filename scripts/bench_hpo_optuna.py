#!/usr/bin/python3
"""scripts/bench_hpo_optuna.py: Optuna 3.1's samplers on tunelab's benchmark
functions, for scripts/bench_hpo.sh (run it with Debian's /usr/bin/python3).

Same functions (definitions of ../shared/benchmarks/functions.md (beside the repository), the
ones hpo/benchfn.c implements), same domains, same seeds (0..N-1) and
trial counts as build/bench/bench_hpo; in-memory storage, ask/tell API.
Samplers: TPESampler() (Optuna's default), TPESampler(multivariate=True),
CmaEsSampler(), RandomSampler(), each with seed=SEED.

Prints the same tab-separated rows as bench_hpo:
  regret   FUNCTION SAMPLER SEED R25 R50 optuna
  overhead SAMPLER N MS optuna CPU_MS
where MS is the median wall time of ask + tell over the 20 trials before
trial N (hartmann6, seed 0) and CPU_MS the median CPU time of the process
over the same trials (time.process_time: steadier than MS on a shared
machine, and what bench_hpo's own CPU column measures).  Does not judge
the numbers.
"""
import argparse
import math
import sys
import time
import warnings

import optuna

PI = math.pi


def branin(x):
    a, b, c, r, s, t = 1.0, 5.1 / (4.0 * PI * PI), 5.0 / PI, 6.0, 10.0, 1.0 / (8.0 * PI)
    q = x[1] - b * x[0] * x[0] + c * x[0] - r
    return a * q * q + s * (1.0 - t) * math.cos(x[0]) + s


H6_ALPHA = [1.0, 1.2, 3.0, 3.2]
H6_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H6_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    outer = 0.0
    for i in range(4):
        inner = sum(H6_A[i][j] * (x[j] - 1e-4 * H6_P[i][j]) ** 2 for j in range(6))
        outer += H6_ALPHA[i] * math.exp(-inner)
    return -outer


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1.0) ** 2 for i in range(len(x) - 1))


def ackley(x):
    d = len(x)
    s1 = sum(v * v for v in x)
    s2 = sum(math.cos(2.0 * PI * v) for v in x)
    return -20.0 * math.exp(-0.2 * math.sqrt(s1 / d)) - math.exp(s2 / d) + 20.0 + math.e


FUNCS = {
    "branin": (branin, [(-5.0, 10.0), (0.0, 15.0)], 0.39788735772973816),
    "hartmann6": (hartmann6, [(0.0, 1.0)] * 6, -3.3223680114155147),
    "rosenbrock4": (rosenbrock, [(-5.0, 10.0)] * 4, 0.0),
    "ackley5": (ackley, [(-32.768, 32.768)] * 5, 0.0),
}

SAMPLERS = {
    "optuna-tpe": lambda s: optuna.samplers.TPESampler(seed=s),
    "optuna-tpe-mv": lambda s: optuna.samplers.TPESampler(multivariate=True, seed=s),
    "optuna-cmaes": lambda s: optuna.samplers.CmaEsSampler(seed=s),
    "optuna-random": lambda s: optuna.samplers.RandomSampler(seed=s),
}


def run(fname, sname, seed, trials):
    f, dom, _ = FUNCS[fname]
    study = optuna.create_study(direction="minimize", sampler=SAMPLERS[sname](seed))
    vals, dts, cpus = [], [], []
    for _ in range(trials):
        t0, c0 = time.perf_counter(), time.process_time()
        tr = study.ask()
        x = [tr.suggest_float("x%d" % i, lo, hi) for i, (lo, hi) in enumerate(dom)]
        t1, c1 = time.perf_counter(), time.process_time()
        v = f(x)
        t2, c2 = time.perf_counter(), time.process_time()
        study.tell(tr, v)
        dts.append((t1 - t0) + (time.perf_counter() - t2))
        cpus.append((c1 - c0) + (time.process_time() - c2))
        vals.append(v)
    return vals, dts, cpus


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=15)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--functions", default="branin,hartmann6,rosenbrock4,ackley5")
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--overhead", default="100,300", help="observation counts, or 'none'")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    funcs = [f for f in a.functions.split(",") if f]
    samplers = [s for s in a.samplers.split(",") if s]
    for name in funcs:
        if name not in FUNCS:
            sys.exit("bench_hpo_optuna.py: error: unknown function '%s'" % name)
    for name in samplers:
        if name not in SAMPLERS:
            sys.exit("bench_hpo_optuna.py: error: unknown sampler '%s'" % name)
    half = a.trials // 2
    for fname in funcs:
        fstar = FUNCS[fname][2]
        for sname in samplers:
            for seed in range(a.seeds):
                vals, _, _ = run(fname, sname, seed, a.trials)
                print("regret\t%s\t%s\t%d\t%.6g\t%.6g\toptuna" % (
                    fname, sname, seed, min(vals[:half]) - fstar, min(vals) - fstar), flush=True)
    if a.overhead != "none":
        ns = [int(n) for n in a.overhead.split(",")]
        for sname in samplers:
            _, dts, cpus = run("hartmann6", sname, 0, max(ns))
            for n in ns:
                w = sorted(dts[max(0, n - 20):n])
                wc = sorted(cpus[max(0, n - 20):n])
                print("overhead\t%s\t%d\t%.3f\toptuna\t%.3f" % (
                    sname, n, 1e3 * w[len(w) // 2], 1e3 * wc[len(wc) // 2]), flush=True)


if __name__ == "__main__":
    main()
