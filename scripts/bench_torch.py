#!/usr/bin/python3
"""scripts/bench_torch.py: the PyTorch peer of bench/bench_train.c.

Times the training-throughput workloads of ../shared/benchmarks/workloads.md (beside the repository)
(mlp32, mlp128, mlp1024, gpt) and one epoch of the 784-256-256-10 MLP on
Fashion-MNIST, in PyTorch's best configuration on a small CPU machine:
explicit torch and OpenBLAS thread counts (set here, before torch loads,
from --threads), OMP_WAIT_POLICY=PASSIVE, AdamW(foreach=True),
zero_grad(set_to_none=True) and flush-to-zero / denormals-are-zero (set
before any worker thread exists, so the OpenMP and OpenBLAS threads inherit
it).  Prints one JSON object per line on stdout, with the same keys as
bench_train so that scripts/bench.sh reads both alike.

It does not compare anything or print a table (bench.sh does), and it does
not try other peer settings (MKL-DNN, TorchScript): eager mode as people
write it.  Run it with Debian's /usr/bin/python3 (torch 1.13), not a pyenv
python3.

Usage: bench_torch.py --threads N [--quick] [--workloads mlp32,gpt,epoch]
                      [--fmnist DIR] [--seed S]
"""
import argparse
import gzip
import json
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workloads", default="mlp32,mlp128,mlp1024,gpt,epoch")
    p.add_argument("--quick", action="store_true",
                   help="1 repeat of >= 10 steps: a smoke test, not a figure")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--fmnist", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=1234)
    return p.parse_args()


ARGS = parse_args()
if ARGS.threads < 1:
    sys.exit("bench_torch.py: --threads must be >= 1")
# Thread counts must be in the environment before libopenblas and libgomp
# read it, that is before `import torch`.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_flush_denormal(True)          # before any worker thread starts
torch.set_num_threads(ARGS.threads)
torch.set_num_interop_threads(1)

# Workload table: the same as bench_train.c.
MLP_SIZES = (784, 256, 256, 10)
GPT = dict(vocab=96, ctx=128, d=128, layers=4, heads=4, batch=16)
WORKLOADS = {"mlp32": 32, "mlp128": 128, "mlp1024": 1024}

if ARGS.quick:
    WARMUP, MIN_STEPS, TARGET_S, REPEATS = 3, 10, 0.15, 1
else:
    WARMUP, MIN_STEPS, TARGET_S, REPEATS = 10, 50, 0.5, 5
if ARGS.repeats:
    REPEATS = ARGS.repeats


def emit(obj):
    print(json.dumps(obj), flush=True)


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for i, l in enumerate(self.layers):
            x = l(x)
            if i + 1 < len(self.layers):
                x = F.relu(x)
        return x


class Block(nn.Module):
    """Pre-LayerNorm block: x + attn(ln1(x)), x + mlp(ln2(x)); GELU (tanh)."""

    def __init__(self, d, heads, ctx):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fcproj = nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)))

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.heads, hs).transpose(1, 2)
        k = k.view(B, T, self.heads, hs).transpose(1, 2)
        v = v.view(B, T, self.heads, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(~self.mask[:T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(y)
        x = x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x


class GPTModel(nn.Module):
    """Decoder-only transformer, learned positions, final LayerNorm, and an
    lm head tied to the token embedding (as GPT-2 and llm.c)."""

    def __init__(self, vocab, ctx, d, layers, heads):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads, ctx) for _ in range(layers))
        self.lnf = nn.LayerNorm(d)
        for name, p in self.named_parameters():   # GPT-2's init, as nn/gpt.c
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for b in self.blocks:
            x = b(x)
        return self.lnf(x) @ self.wte.weight.t()


def mlp_flops(sizes, batch):
    """Matmul FLOPs of one step: 2 forward + 2 dW + 2 dX per weight and
    sample, less the first layer's dX (the input needs no gradient, and
    neither side computes it)."""
    w = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return (6 * w - 2 * sizes[0] * sizes[1]) * batch


def gpt_flops(g):
    """6 N T for the matmul weights N (qkv, proj, fc, fcproj, lm head) plus
    12 L T C per token for the attention scores and values (PaLM's count)."""
    d, L, T, V = g["d"], g["layers"], g["ctx"], g["vocab"]
    n = L * (3 * d * d + d * d + 8 * d * d) + d * V
    tokens = g["batch"] * T
    return 6 * n * tokens + 12 * L * T * d * tokens


def make_opt(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01, foreach=True)


def time_steps(step):
    """Warm-up, then REPEATS timings of `steps` steps.  steps is at least
    MIN_STEPS and enough for about TARGET_S seconds, from the warm-up's pace.
    Returns (steps, [seconds per repeat])."""
    t0 = time.perf_counter()
    for _ in range(WARMUP):
        step()
    per = (time.perf_counter() - t0) / WARMUP
    steps = max(MIN_STEPS, int(math.ceil(TARGET_S / max(per, 1e-9))))
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append(time.perf_counter() - t0)
    return steps, times


def report(name, unit, items, params, flops, steps, times, loss):
    rates = sorted(items * steps / t for t in times)
    med = rates[len(rates) // 2] if len(rates) % 2 else 0.5 * (rates[len(rates) // 2 - 1] + rates[len(rates) // 2])
    step_s = items / med
    emit(dict(impl="torch", workload=name, threads=ARGS.threads, unit=unit,
              params=params, items_per_step=items, flops_per_step=flops,
              steps=steps, repeats=len(times), median=med, min=rates[0], max=rates[-1],
              gflops=flops / step_s * 1e-9, loss=loss,
              version=torch.__version__))


def bench_mlp(name, batch):
    torch.manual_seed(ARGS.seed)
    model = MLP(MLP_SIZES)
    opt = make_opt(model)
    g = torch.Generator().manual_seed(ARGS.seed + 1)
    x = torch.rand(batch, MLP_SIZES[0], generator=g)
    y = torch.randint(0, MLP_SIZES[-1], (batch,), generator=g)
    last = [0.0]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        last[0] = loss

    steps, times = time_steps(step)
    params = sum(p.numel() for p in model.parameters())
    report(name, "samples/s", batch, params, mlp_flops(MLP_SIZES, batch), steps, times,
           float(last[0]))


def bench_gpt():
    torch.manual_seed(ARGS.seed)
    gc = GPT
    model = GPTModel(gc["vocab"], gc["ctx"], gc["d"], gc["layers"], gc["heads"])
    opt = make_opt(model)
    g = torch.Generator().manual_seed(ARGS.seed + 1)
    B, T = gc["batch"], gc["ctx"]
    idx = torch.randint(0, gc["vocab"], (B, T), generator=g)
    tgt = torch.randint(0, gc["vocab"], (B, T), generator=g)
    last = [0.0]

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(idx)
        loss = F.cross_entropy(logits.view(B * T, -1), tgt.view(B * T))
        loss.backward()
        opt.step()
        last[0] = loss

    steps, times = time_steps(step)
    params = sum(p.numel() for p in model.parameters())
    report("gpt", "tokens/s", B * T, params, gpt_flops(gc), steps, times, float(last[0]))


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    return np.frombuffer(buf, dtype=np.uint8, offset=header)


def bench_epoch():
    """One epoch (or --epochs) of the MLP on the 60000 training images,
    batch 128, reshuffled each epoch; the timing includes the batch gather."""
    d = ARGS.fmnist
    try:
        x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"), 16)
        y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"), 8)
    except OSError as e:
        emit(dict(impl="torch", workload="epoch", threads=ARGS.threads, error=str(e)))
        return
    n = y.shape[0]
    x = (x.reshape(n, 784).astype(np.float32) / 255.0)
    y = y.astype(np.int64)
    torch.manual_seed(ARGS.seed)
    model = MLP(MLP_SIZES)
    opt = make_opt(model)
    rs = np.random.default_rng(ARGS.seed)
    B = 128
    epochs = ARGS.epochs or (1 if ARGS.quick else 2)
    secs, losses = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = rs.permutation(n)
        tot = 0.0
        for s in range(0, n, B):
            ib = perm[s:s + B]
            xb = torch.from_numpy(x[ib])
            yb = torch.from_numpy(y[ib])
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            tot += float(loss) * len(ib)
        secs.append(time.perf_counter() - t0)
        losses.append(tot / n)
    with torch.no_grad():
        tiny = sum(int(((st["exp_avg_sq"] > 0) & (st["exp_avg_sq"] < 1.1754944e-38)).sum())
                   for st in opt.state.values())
    emit(dict(impl="torch", workload="epoch", threads=ARGS.threads, unit="s/epoch",
              data="fashion-mnist", samples=n, batch=B, epoch_s=secs,
              params=sum(p.numel() for p in model.parameters()),
              median=sorted(secs)[len(secs) // 2], min=min(secs), max=max(secs),
              flops_per_step=mlp_flops(MLP_SIZES, B),
              gflops=mlp_flops(MLP_SIZES, n) / sorted(secs)[len(secs) // 2] * 1e-9,
              loss=losses[-1], losses=losses, v_subnormal=tiny, version=torch.__version__))


def main():
    for w in ARGS.workloads.split(","):
        w = w.strip()
        if w in WORKLOADS:
            bench_mlp(w, WORKLOADS[w])
        elif w == "gpt":
            bench_gpt()
        elif w == "epoch":
            bench_epoch()
        elif w:
            sys.exit(f"bench_torch.py: unknown workload '{w}' "
                     "(mlp32, mlp128, mlp1024, gpt, epoch)")


if __name__ == "__main__":
    main()
