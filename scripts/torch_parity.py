#!/usr/bin/python3
"""scripts/torch_parity.py: PyTorch 1.13 reference for tunelab's MLP and GPT.

Reads a dump that the C tests write (tests/test_gpt.c, nn_test_parity_run):
one JSON header line (kind "mlp" or "gpt", the config, B, T, nparams and
the tensor table), then little-endian float32 parameters in the C layout,
then the batch (mlp: float32 x (B, D) and int32 targets (B); gpt: int32
tokens (B, T) and int32 targets (B, T)).  Builds the same model in PyTorch
from those parameters, runs the mean softmax cross-entropy forward and
backward in float32, and writes: float64 loss, float32 logits (B*T, V),
float32 gradients in the C parameter layout (stacked per-layer tensors,
nn.Linear (out, in) weights).

It does not compare anything (the C test does) and it uses no dropout.
Exits with status 77 when numpy or torch cannot be imported: the test then
compares with the answer this script gave before, stored in
tests/data/parity_{mlp,gpt}.out for the input tests/data/parity_*.in
(`make parity-fixtures` regenerates both where torch is installed).

Usage: /usr/bin/python3 scripts/torch_parity.py IN OUT
"""
import json
import math
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"torch_parity.py: {e}", file=sys.stderr)
    sys.exit(77)


def mlp_loss(cfg, P, data, B):
    D, K = cfg["in_dim"], cfg["out_dim"]
    widths = cfg["hidden"][: cfg["nhidden"]]
    x = torch.from_numpy(np.frombuffer(data, np.float32, B * D).reshape(B, D).copy())
    y = torch.from_numpy(np.frombuffer(data, np.int32, B, B * D * 4).astype(np.int64))
    h = x
    for l in range(len(widths) + 1):
        h = F.linear(h, P[f"fc{l}.weight"], P[f"fc{l}.bias"])
        if l < len(widths):
            h = F.relu(h) if cfg["act"] == 0 else F.gelu(h, approximate="tanh")
    return F.cross_entropy(h, y), h.reshape(-1, K)


def gpt_loss(cfg, P, data, B, T):
    V, C, L, NH = cfg["vocab"], cfg["d_model"], cfg["layers"], cfg["heads"]
    hs = C // NH
    tok = torch.from_numpy(np.frombuffer(data, np.int32, B * T).astype(np.int64)).view(B, T)
    tgt = torch.from_numpy(np.frombuffer(data, np.int32, B * T, B * T * 4).astype(np.int64))
    x = P["wte"][tok] + P["wpe"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        h = F.layer_norm(x, (C,), P["ln1w"][l], P["ln1b"][l], 1e-5)
        qkv = F.linear(h, P["qkvw"][l], P["qkvb"][l])
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in qkv.split(C, dim=2))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, P["attprojw"][l], P["attprojb"][l])
        h = F.layer_norm(x, (C,), P["ln2w"][l], P["ln2b"][l], 1e-5)
        h = F.gelu(F.linear(h, P["fcw"][l], P["fcb"][l]), approximate="tanh")
        x = x + F.linear(h, P["fcprojw"][l], P["fcprojb"][l])
    x = F.layer_norm(x, (C,), P["lnfw"], P["lnfb"], 1e-5)
    logits = (x @ P["wte"].t()).reshape(B * T, V)
    return F.cross_entropy(logits, tgt), logits


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: torch_parity.py IN OUT")
    torch.set_num_threads(1)
    with open(sys.argv[1], "rb") as f:
        hdr = json.loads(f.readline())
        blob = f.read()
    n = hdr["nparams"]
    flat = np.frombuffer(blob, np.float32, n)
    data = blob[n * 4:]
    P = {}
    for name, off, size, shape in hdr["tensors"]:
        t = torch.from_numpy(flat[off:off + size].reshape(shape).copy())
        P[name] = t.requires_grad_(True)
    if hdr["kind"] == "mlp":
        loss, logits = mlp_loss(hdr["config"], P, data, hdr["B"])
    elif hdr["kind"] == "gpt":
        loss, logits = gpt_loss(hdr["config"], P, data, hdr["B"], hdr["T"])
    else:
        sys.exit(f"torch_parity.py: unknown kind {hdr['kind']!r}")
    loss.backward()
    grads = np.zeros(n, np.float32)
    for name, off, size, shape in hdr["tensors"]:
        grads[off:off + size] = P[name].grad.numpy().reshape(-1)
    with open(sys.argv[2], "wb") as f:
        f.write(np.float64(loss.item()).tobytes())
        f.write(logits.detach().numpy().astype(np.float32).tobytes())
        f.write(grads.tobytes())


if __name__ == "__main__":
    main()
