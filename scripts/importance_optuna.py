#!/usr/bin/env python3
"""scripts/importance_optuna.py: the reference numbers of tests/test_importance.c.

Optuna 3.1's FanovaImportanceEvaluator (scikit-learn's forest, 64 trees) on
the synthetic study of the test: n points of an additive R-sequence in
[0,1]^3 (x_k = frac(0.5 + i * a_k)), y = 2 (x0 - 0.3)^2 + x1 + 0.5 sin(6 x2),
three FloatDistribution(0, 1) parameters.  Prints the importance of each
parameter, mean and standard deviation over forest seeds 0..S-1.
usage: scripts/importance_optuna.py [N [S]]   (defaults 60, 20)
Needs python3-optuna and python3-sklearn (Debian 12: Optuna's fANOVA fits
scikit-learn forests); the test itself needs neither.
"""
import math
import sys

import optuna

A = (0.8191725133961645, 0.6710436067037893, 0.5497004779019703)  # R3 sequence


def point(i):
    x = [math.fmod(0.5 + i * a, 1.0) for a in A]
    return x, 2 * (x[0] - 0.3) ** 2 + x[1] + 0.5 * math.sin(6 * x[2])


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    dist = {"x%d" % k: optuna.distributions.FloatDistribution(0.0, 1.0) for k in range(3)}
    for i in range(n):
        x, y = point(i)
        study.add_trial(optuna.trial.create_trial(
            params={"x%d" % k: x[k] for k in range(3)}, distributions=dist, value=y))
    imp = {k: [] for k in dist}
    for s in range(seeds):
        r = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=s))
        for k in dist:
            imp[k].append(r[k])
    for k in dist:
        v = imp[k]
        m = sum(v) / len(v)
        sd = math.sqrt(sum((a - m) ** 2 for a in v) / len(v))
        print("%s %.4f %.4f" % (k, m, sd))


if __name__ == "__main__":
    main()
