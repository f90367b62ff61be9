#!/usr/bin/env python3
"""PyTorch reference for bench/bench.ts: the same three workloads, single-threaded.

Each step sets the LR, runs one Adam step and reads the loss back to the host (loss.item()), like the tfjs trainer.
Prints one JSON object: {"torch": version, "threads": 1, "results": {workload: {"stepsPerSecond", "cpuStepsPerSecond", "runs"}}}
(cpuStepsPerSecond divides by process CPU time).
Usage: pytorch_bench.py [--steps N] [--repeats N] [--warmup N] [--workload mlp,cnn,tabular]
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # torch.set_num_threads does not reach a pthreads OpenBLAS
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 32, 10))


def make_tabular():
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


WORKLOADS = {
    # name: (model factory, input shape without batch (NCHW for the CNN), classes, batch)
    'mlp': (make_mlp, (784,), 10, 64),
    'cnn': (make_cnn, (1, 28, 28), 10, 64),
    'tabular': (make_tabular, (4,), 3, 16),
}


def run(name, steps, repeats, warmup):
    factory, shape, classes, batch = WORKLOADS[name]
    torch.manual_seed(1)
    model = factory()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    # Same as the tfjs side: softmax + categorical cross-entropy (fused here as log_softmax + nll), Adam(eps=1e-7).
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    lr = 1e-3

    def step():
        for g in opt.param_groups:
            g['lr'] = lr
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    runs = []
    cpu_runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(steps):
            step()
        runs.append(steps / (time.perf_counter() - t0))
        cpu_runs.append(steps / (time.process_time() - c0))
    return {'stepsPerSecond': statistics.median(runs), 'cpuStepsPerSecond': statistics.median(cpu_runs), 'runs': runs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=20)
    ap.add_argument('--workload', default='mlp,cnn,tabular')
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name in [w for w in args.workload.split(',') if w]:
        if name not in WORKLOADS:
            print(json.dumps({'error': f'unknown workload {name}'}))
            return 2
        results[name] = run(name, args.steps, args.repeats, args.warmup)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'results': results}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
