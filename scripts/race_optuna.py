#!/usr/bin/python3
"""scripts/race_optuna.py: the Optuna + PyTorch side of the time-to-accuracy
race (scripts/race.py drives both sides; experiments/race.md has the
commands and the results).

What a user would write otherwise: Optuna 3.1's TPESampler(seed=SEED) with
its MedianPruner() (defaults: 5 startup trials, no warmup steps), in-memory
storage, and PyTorch 1.13 training the Fashion-MNIST MLP of
experiments/race.ini: 784-W-W-10 ReLU with dropout after each hidden layer,
AdamW (betas 0.9/0.999, eps 1e-8), cosine decay per optimizer step to 0
over EPOCHS epochs, a fresh shuffle each epoch, validation accuracy after
every epoch (reported to the pruner), and the test accuracy of every trial,
pruned or complete, when it ends (tunelab records the same).  The space is
the race's: lr log 1e-4..1e-2, weight decay log 1e-6..1e-1, dropout
0..0.5, batch {32, 64, 128, 256}, width {128, 256, 512, 1024}.

The rows come from tunelab (`--set data.split_file=FILE`,
tune/task_data.h): the same training, validation and test rows of the same
IDX files, so both tools see the same data.  Pixels become floats in
[0, 1] as tunelab's loader makes them.

Threads: --threads N sets OMP/OpenBLAS/MKL thread counts before torch loads
and torch.set_num_threads(N), one inter-op thread (as
scripts/bench_torch.py does).

Output: one JSON object per line on stdout, flushed:
  {"event": "epoch", "trial": N, "epoch": E, "val_accuracy": A, "t": S}
  {"event": "trial", "trial": N, "state": "complete"|"pruned"|"failed",
   "value": A, "test_accuracy": T, "epochs": E, "params": {...}, "t": S}
where S is seconds since this script started (the driver timestamps lines
itself as well).  Runs until --timeout seconds have passed (no new trial
starts after it; a running one stops at its next epoch) or --trials trials.

It does not judge or compare anything; run it with Debian's /usr/bin/python3.

Usage: race_optuna.py --split FILE [--seed S] [--threads N] [--timeout SECONDS]
                      [--trials N] [--epochs 10] [--fmnist DIR]
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

T0 = time.monotonic()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--split", required=True, help="tunelab's data.split_file (JSON)")
    p.add_argument("--fmnist", default=None,
                   help="folder of the IDX files (default: the split file's \"path\")")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timeout", type=float, default=60.0, help="wall seconds (0: no limit)")
    p.add_argument("--trials", type=int, default=0, help="trial budget (0: until --timeout)")
    p.add_argument("--epochs", type=int, default=10)
    a = p.parse_args()
    if a.threads < 1 or a.epochs < 1 or a.timeout < 0 or a.trials < 0:
        p.error("--threads and --epochs must be >= 1, --timeout and --trials >= 0")
    if a.timeout == 0 and a.trials == 0:
        p.error("give --timeout or --trials")
    return a


ARGS = parse_args()
# Thread counts must be in the environment before libopenblas and libgomp
# read it, that is before `import torch`.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import optuna  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_flush_denormal(True)
torch.set_num_threads(ARGS.threads)
torch.set_num_interop_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)


def emit(obj):
    obj["t"] = round(time.monotonic() - T0, 3)
    print(json.dumps(obj), flush=True)


def fail(msg):
    sys.exit(f"race_optuna.py: error: {msg}")


def read_idx(path, magic, header):
    try:
        with gzip.open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        fail(f"{path}: {e}")
    if len(buf) < header or int.from_bytes(buf[:4], "big") != magic:
        fail(f"{path}: not an IDX file with magic 0x{magic:08x}")
    return np.frombuffer(buf, dtype=np.uint8, offset=header)


def load_data():
    try:
        with open(ARGS.split) as f:
            split = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{ARGS.split}: {e}")
    if split.get("format") != "tunelab-split" or split.get("dataset") != "fmnist":
        fail(f"{ARGS.split}: not a tunelab split of Fashion-MNIST (data.split_file of an fmnist config)")
    d = ARGS.fmnist or split["path"]
    sets = {}
    for name, prefix, rows_key in (("train", "train", "rows"), ("test", "t10k", "test_rows")):
        x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"), 0x803, 16)
        y = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"), 0x801, 8)
        n = y.shape[0]
        if n != split[rows_key] or x.shape[0] != n * 784:
            fail(f"{d}/{prefix}-*: {n} rows, the split file says {split[rows_key]}")
        sets[name] = (torch.from_numpy(x.reshape(n, 784).astype(np.float32) / 255.0),
                      torch.from_numpy(y.astype(np.int64)))

    def view(which, key):
        idx = torch.tensor(split[key], dtype=torch.int64)
        x, y = sets[which]
        return x[idx].contiguous(), y[idx].contiguous()

    return view("train", "train"), view("train", "val"), view("test", "test")


TRAIN, VAL, TEST = load_data()


class MLP(nn.Module):
    def __init__(self, width, dropout):
        super().__init__()
        self.l1 = nn.Linear(784, width)
        self.l2 = nn.Linear(width, width)
        self.out = nn.Linear(width, 10)
        self.p = dropout

    def forward(self, x):
        x = F.dropout(F.relu(self.l1(x)), self.p, self.training)
        x = F.dropout(F.relu(self.l2(x)), self.p, self.training)
        return self.out(x)


@torch.no_grad()
def accuracy(model, data):
    model.eval()
    x, y = data
    correct = 0
    for s in range(0, x.shape[0], 1024):
        correct += int((model(x[s:s + 1024]).argmax(1) == y[s:s + 1024]).sum())
    model.train()
    return correct / x.shape[0]


def out_of_time():
    return ARGS.timeout > 0 and time.monotonic() - T0 >= ARGS.timeout


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
    wd = trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    batch = trial.suggest_categorical("batch_size", [32, 64, 128, 256])
    width = trial.suggest_categorical("hidden", [128, 256, 512, 1024])
    torch.manual_seed(ARGS.seed * 100003 + trial.number)
    gen = torch.Generator().manual_seed(ARGS.seed * 100003 + trial.number)
    model = MLP(width, dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd, foreach=True)
    x, y = TRAIN
    n = x.shape[0]
    steps = ARGS.epochs * math.ceil(n / batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda u: 0.5 * (1.0 + math.cos(math.pi * min(u / steps, 1.0))))
    state, acc, epoch = "complete", float("nan"), 0
    try:
        for epoch in range(1, ARGS.epochs + 1):
            perm = torch.randperm(n, generator=gen)
            for s in range(0, n, batch):
                ib = perm[s:s + batch]
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x[ib]), y[ib]).backward()
                opt.step()
                sched.step()
            acc = accuracy(model, VAL)
            emit(dict(event="epoch", trial=trial.number, epoch=epoch, val_accuracy=acc))
            trial.report(acc, epoch)
            if trial.should_prune():
                state = "pruned"
                break
            if out_of_time() and epoch < ARGS.epochs:
                state = "stopped"
                break
    finally:
        test = accuracy(model, TEST)
        trial.set_user_attr("test_accuracy", test)
        emit(dict(event="trial", trial=trial.number, state=state, value=acc, test_accuracy=test,
                  epochs=epoch, params=trial.params))
    if state != "complete":
        raise optuna.TrialPruned()
    return acc


def main():
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=ARGS.seed),
                                pruner=optuna.pruners.MedianPruner())
    emit(dict(event="start", optuna=optuna.__version__, torch=torch.__version__, threads=ARGS.threads,
              seed=ARGS.seed, train=int(TRAIN[0].shape[0]), val=int(VAL[0].shape[0]),
              test=int(TEST[0].shape[0])))
    while not out_of_time() and (ARGS.trials == 0 or len(study.trials) < ARGS.trials):
        study.optimize(objective, n_trials=1)


if __name__ == "__main__":
    main()
