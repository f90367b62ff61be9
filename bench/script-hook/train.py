#!/usr/bin/env python3
"""The "user's script" of bench_hook.py: a plain PyTorch training loop that knows nothing about LR Finder.

bench_hook.py runs it twice, as the user would (`python train.py`) and as the script engine does (the hook on
PYTHONPATH, the request in LR_FINDER_REQUEST, the protocol on LR_FINDER_PROTOCOL_FD), and compares.

A step is what a plain loop does: zero_grad, forward, loss, loss.backward(), optimizer.step(). The loop never reads
the loss back (no loss.item()): reading it is part of what the hook adds.

Output on stdout:
  LRF_BENCH_FIRST_STEP <cpu s>     right after the first optimizer.step() returns (flushed), with the CPU time the
                                   process has used since it started
  LRF_BENCH_RESULT {json}          at the end: {"blocks": [{"seconds", "cpuSeconds", "steps"}...]}

Usage: train.py [--model mlp|tiny] [--warmup N] [--steps N] [--repeats N]
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # torch.set_num_threads does not reach a pthreads OpenBLAS
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def build(name):
    torch.manual_seed(1)
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
        x = torch.randn(64, 784)
        y = torch.randint(0, 10, (64,))
        loss_fn = F.cross_entropy
    elif name == "tiny":
        model = nn.Linear(1, 1)
        x = torch.randn(1, 1)
        y = torch.randn(1, 1)
        loss_fn = F.mse_loss
    else:
        raise SystemExit("unknown model %r" % name)
    return model, x, y, loss_fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    torch.set_num_threads(1)
    model, x, y, loss_fn = build(args.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step()
    sys.stdout.write("LRF_BENCH_FIRST_STEP %.6f\n" % time.process_time())
    sys.stdout.flush()
    for _ in range(args.warmup):
        step()
    blocks = []
    n = args.steps
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(n):
            step()
        blocks.append({"seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0, "steps": n})
    sys.stdout.write("LRF_BENCH_RESULT " + json.dumps({"blocks": blocks}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
