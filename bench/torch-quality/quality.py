#!/usr/bin/env python3
"""PyTorch outcome benchmark for LR suggestions.

What is an LR suggested from a range-test curve worth when you then really train at it (one-cycle schedule)?

  run    (expensive, once): per task, 3 fastai-style range tests (seeds 0, 1, 2) recording raw per-batch losses, and a
         log grid of max LRs trained with torch's OneCycleLR (fastai's fit_one_cycle defaults) for ~400 steps,
         2 seeds each (3 for the holdout set), scored by final validation loss. Everything goes to results.json
         (results-holdout.json for the holdout set).
  score  (cheap, re-runnable): feed each recorded curve to `node dist/cli.js suggest --json`, then the regret of each
         method's LR against the trained grid.
  grid   print the grid summary of a results file.

Three task sets, chosen with --set: `main` (TASKS, the default), `holdout` (HOLDOUT_TASKS, 8 further tasks written
down after the recommendation was frozen, to score it once) and `verify` (VERIFY_TASKS, 8 more tasks written down
after Verify was frozen, before any Verify result on them; results-verify.json).

Usage:
  /usr/bin/python3 bench/torch-quality/quality.py run [--set main|holdout|verify] [--tasks a,b] [--workers 2] [--out FILE]
  /usr/bin/python3 bench/torch-quality/quality.py score [--set main|holdout|verify] [--results FILE] [--cli dist/cli.js] [--json out.json]
  /usr/bin/python3 bench/torch-quality/quality.py grid [--set main|holdout|verify] [--results FILE]
  /usr/bin/python3 bench/torch-quality/quality.py verify [--set main|holdout|verify] [--tasks a,b] [--workers 2]
                   [--python /usr/bin/python3] [--steps N] [--seeds N] [--rescore] [--md FILE]
  /usr/bin/python3 bench/torch-quality/quality.py reproduce [--set ...] [--tasks a,b] [--python /usr/bin/python3]

verify: per task, `node dist/cli.js run bench/torch-quality/task_script.py --verify --json -- --task NAME` in a temp
git copy (the folder checked byte for byte after), recorded in verify-SET.json, then the regret of the verified LR,
of its center (the recommendation) and of fastai's methods on the same curve; cost = Verify's steps / 100.
reproduce: task_script.py run plainly at each task's best grid LR with the grid's seeds.

Regret of an LR = (validation loss at that LR, linearly interpolated in log10 LR over the grid's seed-mean scores,
clamped to the grid ends) / (best seed-mean score of the grid) - 1. A missing suggestion has infinite regret.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # torch.set_num_threads does not reach a pthreads OpenBLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import csv
import json
import math
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# ---- protocol -------------------------------------------------------------------------------------------------------
START_LR, END_LR, NUM_IT = 1e-7, 10.0, 100      # fastai lr_find defaults
BETA, STOP_DIV = 0.98, 4.0                       # fastai AvgSmoothLoss beta, LRFinder stop_div factor
RANGE_SEEDS = [0, 1, 2]
GRID_SEEDS = [1000, 1001]                        # main set
HOLDOUT_GRID_SEEDS = [1000, 1001, 1002]          # holdout set: 2 seeds were noisy near the top of the grid
GRID_POINTS, GRID_LOW, GRID_TOP_FACTOR = 21, 1e-6, 3.0
GRID_MAX_EXTEND = 8                              # extra grid points allowed per end when the best sits at an end
BUDGET_STEPS = 400
VAL_FRACTION, SPLIT_SEED = 0.2, 20240601
ONE_CYCLE = dict(pct_start=0.25, div_factor=25.0, final_div_factor=1e5, anneal_strategy="cos",
                 base_momentum=0.85, max_momentum=0.95)
METHODS = ["valley", "slide", "minimum", "steep", "steepest", "recommended"]

# ---- tasks ----------------------------------------------------------------------------------------------------------
# name -> dict(description, data, model, optimizer (name, kwargs), batch, loss, cycle_momentum)
# cycle_momentum is True exactly when the optimizer really has momentum: a `betas` parameter (Adam, AdamW) or a non-zero
# `momentum` (SGD, RMSprop). torch's OneCycleLR only checks that the optimizer has a `momentum` key, so with
# cycle_momentum=True it would switch momentum 0.95..0.85 on for plain SGD or momentum-free RMSprop; and it refuses
# Adagrad (no momentum at all). check_tasks() enforces the rule.
TASKS = {
    "digits-cnn-bn-sgdm-b64": dict(
        description="Digits 8x8, CNN (conv32-BN-ReLU x2, maxpool, linear), SGD momentum 0.9 + wd 5e-4, batch 64",
        data="digits", model="cnn_bn", opt=("sgd", dict(momentum=0.9, weight_decay=5e-4)), batch=64, loss="ce",
        cycle_momentum=True),
    "digits-mlp-dropout-adamw-b32": dict(
        description="Digits, MLP 64-128-64-10 + Dropout 0.2, AdamW (wd 0.01), batch 32",
        data="digits", model="mlp_dropout", opt=("adamw", dict(weight_decay=0.01)), batch=32, loss="ce",
        cycle_momentum=True),
    "digits-resnet-adam-b128": dict(
        description="Digits 8x8, small ResNet (stem conv16-BN, 2 residual blocks with BN, global avg pool, linear), Adam, batch 128",
        data="digits", model="resnet", opt=("adam", dict()), batch=128, loss="ce", cycle_momentum=True),
    "breast-mlp-bn-nesterov-b32": dict(
        description="Breast cancer, MLP 30-64-BN-32-BN-2, cross-entropy, SGD Nesterov momentum 0.9, batch 32",
        data="breast", model="mlp_bn", opt=("sgd", dict(momentum=0.9, nesterov=True)), batch=32, loss="ce",
        cycle_momentum=True),
    "wine-mlp-rmsprop-b8": dict(
        description="Wine, MLP 13-64-3, RMSprop (no momentum, so no momentum cycling), batch 8",
        data="wine", model="mlp_wine", opt=("rmsprop", dict()), batch=8, loss="ce", cycle_momentum=False),
    "diabetes-mlp-adam-mse-b32": dict(
        description="Diabetes regression, MLP 10-64-64-1, MSE, Adam, batch 32",
        data="diabetes", model="mlp_reg2", opt=("adam", dict()), batch=32, loss="mse", cycle_momentum=True),
    "diabetes-mlp-sgdm-huber-b16": dict(
        description="Diabetes regression, MLP 10-32-32-1 (SiLU), SmoothL1/Huber loss, SGD momentum 0.9, batch 16",
        data="diabetes", model="mlp_reg_silu", opt=("sgd", dict(momentum=0.9)), batch=16, loss="huber",
        cycle_momentum=True),
    "iris-logreg-sgd-b4": dict(
        description="Iris, logistic regression (one Linear 4-3), plain SGD (no momentum, no momentum cycling), batch 4",
        data="iris", model="logreg", opt=("sgd", dict()), batch=4, loss="ce", cycle_momentum=False),
}

# The holdout set: 8 further tasks, all different from TASKS and from the tfjs tasks (bench/quality/tasks.ts) in
# architecture, optimizer, batch or loss. Same protocol as TASKS, except 3 grid seeds (HOLDOUT_GRID_SEEDS).
HOLDOUT_TASKS = {
    "digits-cnn-adam-b32": dict(
        description="Digits 8x8, plain CNN without BatchNorm (conv16-ReLU-conv32-ReLU, maxpool, Dropout 0.25, linear), Adam, batch 32",
        data="digits", model="cnn_plain", opt=("adam", dict()), batch=32, loss="ce", cycle_momentum=True),
    "digits-mlp-ln-gelu-nesterov-b128": dict(
        description="Digits, MLP 64-256-256-10 with LayerNorm + GELU, SGD Nesterov momentum 0.9, batch 128",
        data="digits", model="mlp_ln_gelu", opt=("sgd", dict(momentum=0.9, nesterov=True)), batch=128, loss="ce",
        cycle_momentum=True),
    "digits-logreg-adam-b256": dict(
        description="Digits, multinomial logistic regression (one Linear 64-10), Adam, batch 256",
        data="digits", model="logreg", opt=("adam", dict()), batch=256, loss="ce", cycle_momentum=True),
    "breast-mlp-dropout-bce-adam-b16": dict(
        description="Breast cancer, MLP 30-64-64-1 + Dropout 0.3, BCEWithLogits, Adam, batch 16",
        data="breast", model="mlp_breast_dropout", opt=("adam", dict()), batch=16, loss="bce", cycle_momentum=True),
    "wine-mlp-bn-sgdm-b16": dict(
        description="Wine, MLP 13-32-BN-32-BN-3, SGD momentum 0.9, batch 16",
        data="wine", model="mlp_wine_bn", opt=("sgd", dict(momentum=0.9)), batch=16, loss="ce", cycle_momentum=True),
    "iris-mlp-adagrad-b16": dict(
        description="Iris, MLP 4-64-3, Adagrad (no momentum, so no momentum cycling), batch 16",
        data="iris", model="mlp_iris64", opt=("adagrad", dict()), batch=16, loss="ce", cycle_momentum=False),
    "diabetes-mlp-l1-rmsprop-mom-b64": dict(
        description="Diabetes regression, MLP 10-128-1, L1 loss, RMSprop with momentum 0.9 (momentum cycled), batch 64",
        data="diabetes", model="mlp_reg128", opt=("rmsprop", dict(momentum=0.9)), batch=64, loss="l1",
        cycle_momentum=True),
    "diabetes-linreg-sgd-b8": dict(
        description="Diabetes regression, linear regression (one Linear 10-1), MSE, plain SGD (no momentum cycling), batch 8",
        data="diabetes", model="logreg", opt=("sgd", dict()), batch=8, loss="mse", cycle_momentum=False),
}

# The verify set: 8 further tasks for Verify (`verify`, src/core/verify.ts), written down before any Verify result on
# them was seen. They differ from TASKS and HOLDOUT_TASKS in data (seeded synthetic data, or new subsets and scalings
# of the real data), model family and batch size (no batch size of the other sets). Same protocol as the holdout set
# (3 grid seeds).
VERIFY_TASKS = {
    "spirals-mlp-tanh-adam-b50": dict(
        description="Two spirals (synthetic, 1000 points, 2 features), deep tanh MLP 2-64-64-64-2, Adam, batch 50",
        data="spirals", model="mlp_tanh3", opt=("adam", dict()), batch=50, loss="ce", cycle_momentum=True),
    "checker-fourier-radam-b200": dict(
        description="4x4 checkerboard (synthetic, 2000 points, 5% labels flipped), fixed random Fourier features "
                    "(64 frequencies, sin+cos) then MLP 128-64-2, RAdam, batch 200",
        data="checker", model="fourier_mlp", opt=("radam", dict()), batch=200, loss="ce", cycle_momentum=True),
    "friedman1-resmlp-sgdm-wd-b24": dict(
        description="Friedman-1 regression (synthetic, 1000 rows, 10 features, 5 informative, noise 1), residual MLP "
                    "(10-64, 2 blocks 64-64-64 with skips, no normalisation), MSE, SGD momentum 0.9 + wd 1e-4, batch 24",
        data="friedman1", model="resmlp", opt=("sgd", dict(momentum=0.9, weight_decay=1e-4)), batch=24, loss="mse",
        cycle_momentum=True),
    "adding-gru-nadam-b48": dict(
        description="Adding problem (synthetic, 2000 sequences of 10 steps: a value and a marker; target the sum of "
                    "the 2 marked values), GRU(2, 32) then linear on the last state, MSE, NAdam, batch 48",
        data="adding", model="gru", opt=("nadam", dict()), batch=48, loss="mse", cycle_momentum=True),
    "majority-transformer-adamw-b40": dict(
        description="Majority token (synthetic, 3000 sequences of 12 tokens from 6; label the most frequent), "
                    "1 Transformer encoder layer (d 32, 4 heads, ff 64, dropout 0.1) + learned positions, mean pool, "
                    "linear, AdamW (wd 0.01), batch 40",
        data="majority", model="transformer", opt=("adamw", dict(weight_decay=0.01)), batch=40, loss="ce",
        cycle_momentum=True),
    "moons-mlp-softplus-adamax-b2": dict(
        description="Two moons (synthetic, 600 points, noise 0.25), MLP 2-32-32-2 with Softplus, Adamax, batch 2",
        data="moons", model="mlp_softplus", opt=("adamax", dict()), batch=2, loss="ce", cycle_momentum=True),
    "digits150-mlp-wide-adam-b10": dict(
        description="Digits with only 150 training rows (seeded subset of the training split; the usual validation "
                    "rows), wide MLP 64-512-512-10 (no dropout: it overfits), Adam, batch 10",
        data="digits150", model="mlp_wide", opt=("adam", dict()), batch=10, loss="ce", cycle_momentum=True),
    "diabetes-raw-mlp-sgd-b12": dict(
        description="Diabetes regression with raw, unstandardised features (blood serum values ~100-300; the target "
                    "standardised), MLP 10-32-1, MSE, plain SGD (no momentum cycling), batch 12: the range test "
                    "diverges early",
        data="diabetes_raw", model="mlp32", opt=("sgd", dict()), batch=12, loss="mse", cycle_momentum=False),
}

SETS = {
    "main": dict(tasks=TASKS, grid_seeds=GRID_SEEDS, results=os.path.join(HERE, "results.json")),
    "holdout": dict(tasks=HOLDOUT_TASKS, grid_seeds=HOLDOUT_GRID_SEEDS, results=os.path.join(HERE, "results-holdout.json")),
    "verify": dict(tasks=VERIFY_TASKS, grid_seeds=HOLDOUT_GRID_SEEDS, results=os.path.join(HERE, "results-verify.json")),
}
ALL_TASKS = {**TASKS, **HOLDOUT_TASKS, **VERIFY_TASKS}


def has_momentum(opt_spec):
    """Does the optimizer really use momentum (betas, or a non-zero momentum)? Then OneCycleLR cycles it."""
    name, kw = opt_spec
    if name in ("adam", "adamw", "nadam", "radam", "adamax"):
        return True
    if name in ("sgd", "rmsprop"):
        return kw.get("momentum", 0) > 0
    if name in ("adagrad",):
        return False
    raise ValueError(name)


def check_tasks():
    assert len(ALL_TASKS) == sum(len(v["tasks"]) for v in SETS.values()), "task names must be unique across the sets"
    for n, t in ALL_TASKS.items():
        assert t["cycle_momentum"] == has_momentum(t["opt"]), f"{n}: cycle_momentum must be {has_momentum(t['opt'])}"


check_tasks()


# ---- data -----------------------------------------------------------------------------------------------------------
def _read_csv(path):
    with open(os.path.join(ROOT, path), newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


_DATA_CACHE = {}


SYNTH_SEED = 20240917  # the synthetic datasets' generator seed (each dataset adds its own offset)
DIGITS_SMALL_TRAIN = 150  # digits150: training rows kept (a seeded subset of the digits training split)


def _synthetic(name):
    """Seeded synthetic data: (x float64 [n, features], raw labels or targets, classification?)."""
    if name == "spirals":  # two interleaved spirals, 500 points each, Gaussian noise 0.4 (radius up to ~13.6)
        rs = np.random.RandomState(SYNTH_SEED + 1)
        n = 500
        t = np.sqrt(rs.uniform(size=n)) * 780 * (2 * np.pi) / 360
        arm = np.stack([-np.cos(t) * t, np.sin(t) * t], 1)
        x = np.concatenate([arm + rs.normal(0, 0.4, arm.shape), -arm + rs.normal(0, 0.4, arm.shape)])
        return x, [0] * n + [1] * n, True
    if name == "checker":  # 4x4 checkerboard on [-2, 2]^2, 5% of the labels flipped
        rs = np.random.RandomState(SYNTH_SEED + 2)
        n = 2000
        x = rs.uniform(-2, 2, size=(n, 2))
        y = (np.floor(x[:, 0]) + np.floor(x[:, 1])).astype(np.int64) % 2
        flip = rs.uniform(size=n) < 0.05
        y[flip] = 1 - y[flip]
        return x, [int(v) for v in y], True
    if name == "friedman1":  # Friedman (1991) #1: 10 U(0,1) features, 5 informative, noise N(0, 1)
        rs = np.random.RandomState(SYNTH_SEED + 3)
        n = 1000
        x = rs.uniform(size=(n, 10))
        y = (10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
             + rs.normal(0, 1, n))
        return x, [float(v) for v in y], False
    if name == "adding":  # the adding problem: per step (value U(0,1), marker); target = sum of the 2 marked values
        rs = np.random.RandomState(SYNTH_SEED + 4)
        n, steps = 2000, ADDING_STEPS
        values = rs.uniform(size=(n, steps))
        markers = np.zeros((n, steps))
        first = rs.randint(0, steps // 2, n)
        second = rs.randint(steps // 2, steps, n)
        markers[np.arange(n), first] = 1
        markers[np.arange(n), second] = 1
        x = np.stack([values, markers], 2).reshape(n, 2 * steps)  # row: v0, m0, v1, m1, ...
        y = (values * markers).sum(1)
        return x, [float(v) for v in y], False
    if name == "majority":  # sequences of 12 tokens from 6; the label is the most frequent token (ties: the smallest)
        rs = np.random.RandomState(SYNTH_SEED + 5)
        n = 3000
        tok = rs.randint(0, MAJORITY_VOCAB, size=(n, MAJORITY_LEN))
        y = [int(np.argmax(np.bincount(r, minlength=MAJORITY_VOCAB))) for r in tok]
        return tok.astype(np.float64), y, True
    if name == "moons":  # two interleaving half circles (scikit-learn's make_moons), 300 each, noise 0.25
        rs = np.random.RandomState(SYNTH_SEED + 6)
        n = 300
        t = np.linspace(0, np.pi, n)
        outer = np.stack([np.cos(t), np.sin(t)], 1)
        inner = np.stack([1 - np.cos(t), 1 - np.sin(t) - 0.5], 1)
        x = np.concatenate([outer, inner]) + rs.normal(0, 0.25, (2 * n, 2))
        return x, [0] * n + [1] * n, True
    raise ValueError(name)


ADDING_STEPS = 10
MAJORITY_VOCAB, MAJORITY_LEN = 6, 12

# data name -> (source: a CSV (path, target column or None for the last, classification?) or "synthetic",
#               scaling: "column" (per-feature standardisation), "global" (one mean/std over all pixels), None (raw),
#               training rows kept: None for all, or a seeded subset of that many)
DATASETS = {
    "iris": (("examples/iris/iris.csv", "species", True), "column", None),
    "breast": (("examples/breast-cancer/breast_cancer.csv", None, True), "column", None),
    "digits": (("examples/digits-cnn/digits.csv", "digit", True), "global", None),
    "diabetes": (("examples/diabetes/diabetes.csv", "progression", False), "column", None),
    "wine": (("bench/data/wine.csv", "cultivar", True), "column", None),
    # the verify set
    "spirals": ("synthetic", "column", None),
    "checker": ("synthetic", "column", None),
    "friedman1": ("synthetic", "column", None),
    "adding": ("synthetic", "column", None),
    "majority": ("synthetic", None, None),  # token ids: not scaled
    "moons": ("synthetic", "column", None),
    "digits150": (("examples/digits-cnn/digits.csv", "digit", True), "global", DIGITS_SMALL_TRAIN),
    "diabetes_raw": (("examples/diabetes/diabetes.csv", "progression", False), None, None),  # features raw
}


def load_data(name):
    """Standardised (train stats) arrays: dict(xtr, ytr, xva, yva, classes or None, image bool). The split is the
    fixed seeded 20% validation split of every dataset; a training subset is drawn from the training part."""
    if name in _DATA_CACHE:
        return _DATA_CACHE[name]
    source, scaling, keep = DATASETS[name]
    if source == "synthetic":
        x, raw_y, classification = _synthetic(name)
        x = np.asarray(x, dtype=np.float64)
    else:
        header, rows = _read_csv(source[0])
        target = source[1] if source[1] is not None else header[-1]
        ti = header.index(target)
        x = np.array([[float(v) for j, v in enumerate(r) if j != ti] for r in rows], dtype=np.float64)
        raw_y = [r[ti] for r in rows]
        classification = source[2]
    n = len(raw_y)
    perm = np.random.RandomState(SPLIT_SEED).permutation(n)
    n_val = int(round(VAL_FRACTION * n))
    va, tr = perm[:n_val], perm[n_val:]
    if keep is not None:
        tr = np.sort(np.random.RandomState(SPLIT_SEED + 1).choice(tr, keep, replace=False))
    if scaling == "global":
        # Images: one mean/std over all training pixels (what transforms.Normalize does), not per pixel.
        mu, sd = x[tr].mean(), x[tr].std()
        x = (x - mu) / sd
    elif scaling == "column":
        mu, sd = x[tr].mean(0), x[tr].std(0)
        sd[sd == 0] = 1.0
        x = (x - mu) / sd
    if classification:
        classes = sorted(set(raw_y))
        y = np.array([classes.index(v) for v in raw_y], dtype=np.int64)
        ncls = len(classes)
    else:
        yf = np.array([float(v) for v in raw_y], dtype=np.float64)
        ymu, ysd = yf[tr].mean(), yf[tr].std()
        y = ((yf - ymu) / ysd).astype(np.float32)
        ncls = None
    d = dict(xtr=x[tr].astype(np.float32), ytr=y[tr], xva=x[va].astype(np.float32), yva=y[va], classes=ncls,
             image=name in ("digits", "digits150"))
    _DATA_CACHE[name] = d
    return d


# ---- torch side (imported lazily so `score` does not need torch) ----------------------------------------------------
_TORCH_READY = False


def _torch():
    global _TORCH_READY
    import torch
    if not _TORCH_READY:
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)  # aborts the process if called twice, hence the flag
        _TORCH_READY = True
    return torch


def build_model(kind, n_in, n_out):
    torch = _torch()
    nn = torch.nn
    if kind == "cnn_bn":
        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, n_out))
    if kind == "mlp_dropout":
        return nn.Sequential(nn.Linear(n_in, 128), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, n_out))
    if kind == "resnet":
        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
                self.b1 = nn.BatchNorm2d(c)
                self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
                self.b2 = nn.BatchNorm2d(c)

            def forward(self, x):
                h = torch.relu(self.b1(self.c1(x)))
                return torch.relu(x + self.b2(self.c2(h)))

        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            Block(16), Block(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, n_out))
    if kind == "mlp_bn":
        return nn.Sequential(nn.Linear(n_in, 64), nn.BatchNorm1d(64), nn.ReLU(),
                             nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, n_out))
    if kind == "mlp_wine":
        return nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, n_out))
    if kind == "mlp_reg2":
        return nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    if kind == "mlp_reg_silu":
        return nn.Sequential(nn.Linear(n_in, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, 1))
    if kind == "logreg":  # logistic (classification) or linear (regression, n_out 1) regression
        return nn.Linear(n_in, n_out)
    # holdout set
    if kind == "cnn_plain":
        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(32 * 4 * 4, n_out))
    if kind == "mlp_ln_gelu":
        return nn.Sequential(nn.Linear(n_in, 256), nn.LayerNorm(256), nn.GELU(),
                             nn.Linear(256, 256), nn.LayerNorm(256), nn.GELU(), nn.Linear(256, n_out))
    if kind == "mlp_breast_dropout":
        return nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Dropout(0.3),
                             nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, n_out))
    if kind == "mlp_wine_bn":
        return nn.Sequential(nn.Linear(n_in, 32), nn.BatchNorm1d(32), nn.ReLU(),
                             nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, n_out))
    if kind == "mlp_iris64":
        return nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, n_out))
    if kind == "mlp_reg128":
        return nn.Sequential(nn.Linear(n_in, 128), nn.ReLU(), nn.Linear(128, 1))
    # verify set
    if kind == "mlp_tanh3":
        return nn.Sequential(nn.Linear(n_in, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                             nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, n_out))
    if kind == "fourier_mlp":
        class Fourier(nn.Module):
            """Fixed random Fourier features (Tancik et al. 2020): [sin 2pi xB, cos 2pi xB], B ~ N(0, 1), not trained."""

            def __init__(self, n_in, k=64):
                super().__init__()
                self.register_buffer("b", torch.randn(n_in, k))

            def forward(self, x):
                h = 2 * math.pi * (x @ self.b)
                return torch.cat([torch.sin(h), torch.cos(h)], 1)

        return nn.Sequential(Fourier(n_in), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, n_out))
    if kind == "resmlp":
        class Res(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.f = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, c))

            def forward(self, x):
                return torch.relu(x + self.f(x))

        return nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), Res(64), Res(64), nn.Linear(64, n_out))
    if kind == "gru":
        class GRU(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.GRU(2, 32, batch_first=True)
                self.out = nn.Linear(32, n_out)

            def forward(self, x):
                _, h = self.rnn(x.view(x.shape[0], -1, 2))
                return self.out(h[-1])

        return GRU()
    if kind == "transformer":
        class Encoder(nn.Module):
            def __init__(self, d=32):
                super().__init__()
                self.emb = nn.Embedding(MAJORITY_VOCAB, d)
                self.pos = nn.Parameter(torch.randn(MAJORITY_LEN, d) * 0.02)
                self.layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=64, dropout=0.1, batch_first=True)
                self.out = nn.Linear(d, n_out)

            def forward(self, x):
                h = self.layer(self.emb(x.long()) + self.pos)
                return self.out(h.mean(1))

        return Encoder()
    if kind == "mlp_softplus":
        return nn.Sequential(nn.Linear(n_in, 32), nn.Softplus(), nn.Linear(32, 32), nn.Softplus(), nn.Linear(32, n_out))
    if kind == "mlp_wide":
        return nn.Sequential(nn.Linear(n_in, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, n_out))
    if kind == "mlp32":
        return nn.Sequential(nn.Linear(n_in, 32), nn.ReLU(), nn.Linear(32, n_out))
    raise ValueError(kind)


def n_outputs(task, d):
    """Model outputs: one logit for binary cross-entropy, one per class for cross-entropy, 1 for regression."""
    if task["loss"] == "bce":
        return 1
    return d["classes"] or 1


def build_optimizer(spec, params, lr):
    torch = _torch()
    name, kw = spec
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad, "nadam": torch.optim.NAdam,
           "radam": torch.optim.RAdam, "adamax": torch.optim.Adamax}[name]
    return cls(params, lr=lr, **kw)


def loss_fn(kind):
    torch = _torch()
    F = torch.nn.functional
    if kind == "ce":
        return lambda out, y: F.cross_entropy(out, y)
    if kind == "mse":
        return lambda out, y: F.mse_loss(out.squeeze(1), y)
    if kind == "huber":
        return lambda out, y: F.smooth_l1_loss(out.squeeze(1), y)
    if kind == "l1":
        return lambda out, y: F.l1_loss(out.squeeze(1), y)
    if kind == "bce":  # one logit; integer 0/1 labels
        return lambda out, y: F.binary_cross_entropy_with_logits(out.squeeze(1), y.to(out.dtype))
    raise ValueError(kind)


def prior_loss(task):
    """Loss of predicting the prior: training class frequencies (classification), training target mean (regression)."""
    torch = _torch()
    d = load_data(task["data"])
    lf = loss_fn(task["loss"])
    yva = torch.from_numpy(d["yva"])
    if task["loss"] == "bce":
        p = float(np.mean(d["ytr"]))
        return float(lf(torch.full((len(yva), 1), math.log(p / (1 - p))), yva))
    if d["classes"]:
        freq = np.bincount(d["ytr"], minlength=d["classes"]).astype(np.float64) / len(d["ytr"])
        logits = torch.log(torch.tensor(freq, dtype=torch.float32).clamp_min(1e-12)).expand(len(yva), -1)
        return float(lf(logits, yva))
    mean = float(np.mean(d["ytr"]))
    return float(lf(torch.full((len(yva), 1), mean), yva))


def steps_per_epoch(task):
    return len(load_data(task["data"])["xtr"]) // task["batch"]


def epochs_for(task):
    return max(1, int(round(BUDGET_STEPS / steps_per_epoch(task))))


def batches(n, batch, gen):
    """Endless stream of index batches over shuffled epochs, dropping the last partial batch (fastai/DataLoader drop_last)."""
    torch = _torch()
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(n // batch):
            yield perm[i * batch:(i + 1) * batch]


def f32(v):
    return float(np.float32(v))


def range_test(task_name, seed):
    """fastai lr_find: lr_i = start * (end/start) ** (i/num_it) for i in 0..num_it-1, one step per batch, stop when the
    smoothed loss exceeds 4x its best so far (or the loss is not finite). Returns raw per-batch losses."""
    torch = _torch()
    task = ALL_TASKS[task_name]
    d = load_data(task["data"])
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    xtr, ytr = torch.from_numpy(d["xtr"]), torch.from_numpy(d["ytr"])
    model = build_model(task["model"], xtr.shape[1], n_outputs(task, d))
    opt = build_optimizer(task["opt"], model.parameters(), START_LR)
    lf = loss_fn(task["loss"])
    gen = torch.Generator().manual_seed(seed)
    it = batches(len(xtr), task["batch"], gen)
    model.train()
    lrs, losses = [], []
    val, best, reason = 0.0, math.inf, "end"
    beta32, omb32 = f32(BETA), f32(1 - f32(BETA))
    for i in range(NUM_IT):
        lr = START_LR * (END_LR / START_LR) ** (i / NUM_IT)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = next(it)
        loss = lf(model(xtr[idx]), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lv = float(loss.item())
        lrs.append(lr)
        losses.append(lv)
        if not math.isfinite(lv):
            reason = "nonfinite"
            break
        # AvgSmoothLoss in float32: val = lerp(loss, val, beta); value = val / (1 - beta**count)
        l32 = f32(lv)
        val = f32(val - omb32 * f32(val - l32))
        smooth = f32(val / f32(1 - BETA ** (i + 1)))
        if smooth < best:
            best = smooth
        if smooth > f32(STOP_DIV * best):
            reason = "diverged"
            break
    return dict(seed=seed, lrs=lrs, losses=losses, reason=reason, seconds=time.perf_counter() - t0)


def train_one(task_name, lr, seed):
    """One-cycle training at max LR `lr` for whole epochs (~BUDGET_STEPS steps); final validation loss."""
    torch = _torch()
    task = ALL_TASKS[task_name]
    d = load_data(task["data"])
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    xtr, ytr = torch.from_numpy(d["xtr"]), torch.from_numpy(d["ytr"])
    xva, yva = torch.from_numpy(d["xva"]), torch.from_numpy(d["yva"])
    model = build_model(task["model"], xtr.shape[1], n_outputs(task, d))
    opt = build_optimizer(task["opt"], model.parameters(), lr)
    lf = loss_fn(task["loss"])
    spe, epochs = steps_per_epoch(task), epochs_for(task)
    total = spe * epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total,
                                                cycle_momentum=task["cycle_momentum"], **ONE_CYCLE)
    gen = torch.Generator().manual_seed(seed)
    it = batches(len(xtr), task["batch"], gen)
    model.train()
    diverged, last_train = False, math.nan
    for step in range(total):
        idx = next(it)
        loss = lf(model(xtr[idx]), ytr[idx])
        lv = float(loss.item())
        last_train = lv
        if not math.isfinite(lv):
            diverged = True
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step + 1 < total:
            sched.step()
    val_loss = math.nan
    if not diverged:
        model.eval()
        with torch.no_grad():
            val_loss = float(lf(model(xva), yva))
    return dict(lr=lr, seed=seed, val_loss=val_loss, diverged=diverged, last_train_loss=last_train,
                steps=total, seconds=time.perf_counter() - t0)


def _job(args):
    kind = args[0]
    if kind == "range":
        return args, range_test(args[1], args[2])
    return args, train_one(args[1], args[2], args[3])


def _pool_init():
    _torch()


def score_of(r, prior):
    v = r["val_loss"]
    if r["diverged"] or not math.isfinite(v) or v > prior:
        return prior
    return v


def grid_lrs(top):
    return list(np.logspace(math.log10(GRID_LOW), math.log10(top), GRID_POINTS))


def _clean(o):
    """JSON without NaN/Infinity literals: non-finite floats become the strings the CLI also accepts."""
    if isinstance(o, float):
        if math.isnan(o):
            return "NaN"
        if math.isinf(o):
            return "Infinity" if o > 0 else "-Infinity"
        return o
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.floating):
        return _clean(float(o))
    if isinstance(o, np.integer):
        return int(o)
    return o


def _num(v):
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    if v is None:
        return math.nan
    return float(v)


def _cost_hint(name):
    """Relative CPU cost of a task's training (only orders the jobs: the longest first)."""
    for key, w in (("transformer", 8), ("resnet", 3), ("cnn", 3), ("wide", 3), ("gru", 3), ("fourier", 2)):
        if key in name:
            return w
    return 1


def cmd_run(a):
    tasks, grid_seeds = SETS[a.set]["tasks"], SETS[a.set]["grid_seeds"]
    names = list(tasks) if not a.tasks else a.tasks.split(",")
    for n in names:
        if n not in tasks:
            sys.exit(f"unknown task {n} in set {a.set}; known: {', '.join(tasks)}")
    t_all = time.perf_counter()
    ctx = mp.get_context("spawn")
    results = {"protocol": dict(start_lr=START_LR, end_lr=END_LR, num_it=NUM_IT, beta=BETA, stop_div=STOP_DIV,
                                range_seeds=RANGE_SEEDS, grid_seeds=grid_seeds, grid_points=GRID_POINTS,
                                grid_low=GRID_LOW, grid_top_factor=GRID_TOP_FACTOR, budget_steps=BUDGET_STEPS,
                                val_fraction=VAL_FRACTION, split_seed=SPLIT_SEED, one_cycle=ONE_CYCLE,
                                workers=a.workers),
               "tasks": {}}
    _torch()
    import torch
    results["torch"] = torch.__version__
    for n in names:
        t = tasks[n]
        d = load_data(t["data"])
        results["tasks"][n] = dict(
            description=t["description"], loss=t["loss"], optimizer=t["opt"][0], optimizer_kwargs=t["opt"][1],
            batch=t["batch"], cycle_momentum=t["cycle_momentum"], train_rows=len(d["xtr"]),
            validation_rows=len(d["xva"]), steps_per_epoch=steps_per_epoch(t), epochs=epochs_for(t),
            steps=steps_per_epoch(t) * epochs_for(t), prior=prior_loss(t), curves=[None] * len(RANGE_SEEDS))
    with ctx.Pool(a.workers, initializer=_pool_init) as pool:
        # 1. range tests
        t0 = time.perf_counter()
        jobs = [("range", n, s) for n in names for s in RANGE_SEEDS]
        for (_, n, s), r in pool.imap_unordered(_job, jobs):
            results["tasks"][n]["curves"][RANGE_SEEDS.index(s)] = r
        results["range_seconds"] = time.perf_counter() - t0
        print(f"range tests: {len(jobs)} in {results['range_seconds']:.1f}s", flush=True)
        # 2. grids: 1e-6 .. 3x the largest LR of the primary range test, widened at an end that holds the best
        runs = {n: {} for n in names}  # (lr, seed) -> result
        grid = {}
        for n in names:
            top = GRID_TOP_FACTOR * max(results["tasks"][n]["curves"][0]["lrs"])
            grid[n] = grid_lrs(top)
        t0 = time.perf_counter()
        extended = {n: {"low": 0, "high": 0} for n in names}
        pending = list(names)
        rounds = 0
        while pending:
            rounds += 1
            jobs = [("train", n, lr, s) for n in pending for lr in grid[n] for s in grid_seeds
                    if (lr, s) not in runs[n]]
            # longest tasks first, spread over workers
            jobs.sort(key=lambda j: -results["tasks"][j[1]]["steps"] * _cost_hint(j[1]))
            tr = time.perf_counter()
            for (_, n, lr, s), r in pool.imap_unordered(_job, jobs, chunksize=1):
                runs[n][(lr, s)] = r
            print(f"grid round {rounds}: {len(jobs)} runs in {time.perf_counter() - tr:.1f}s", flush=True)
            nxt = []
            for n in pending:
                prior = results["tasks"][n]["prior"]
                means = [statistics.mean(score_of(runs[n][(lr, s)], prior) for s in grid_seeds) for lr in grid[n]]
                b = int(np.argmin(means))
                step = math.log10(grid[n][1]) - math.log10(grid[n][0])
                if b == len(grid[n]) - 1 and extended[n]["high"] < GRID_MAX_EXTEND:
                    grid[n] = grid[n] + [10 ** (math.log10(grid[n][-1]) + step * k) for k in (1, 2)]
                    extended[n]["high"] += 2
                    nxt.append(n)
                elif b == 0 and extended[n]["low"] < GRID_MAX_EXTEND:
                    grid[n] = [10 ** (math.log10(grid[n][0]) - step * k) for k in (2, 1)] + grid[n]
                    extended[n]["low"] += 2
                    nxt.append(n)
            pending = nxt
        results["grid_seconds"] = time.perf_counter() - t0
    for n in names:
        tr = results["tasks"][n]
        prior = tr["prior"]
        rs = [[runs[n][(lr, s)] for s in grid_seeds] for lr in grid[n]]
        scores = [[score_of(r, prior) for r in row] for row in rs]
        tr["grid"] = dict(
            lrs=grid[n], seeds=grid_seeds, scores=scores,
            val_losses=[[r["val_loss"] for r in row] for row in rs],
            diverged=[[r["diverged"] for r in row] for row in rs],
            last_train_losses=[[r["last_train_loss"] for r in row] for row in rs],
            seconds=[[r["seconds"] for r in row] for row in rs],
            extended=extended[n])
        tr["grid_cpu_seconds"] = sum(sum(row) for row in tr["grid"]["seconds"])
    results["wall_seconds"] = time.perf_counter() - t_all
    with open(a.out, "w") as f:
        json.dump(_clean(results), f, indent=1)
    print(f"\nwrote {a.out}; run phase wall time {results['wall_seconds']:.1f}s "
          f"(range tests {results['range_seconds']:.1f}s, grids {results['grid_seconds']:.1f}s)\n")
    print(grid_report(results))


def grid_report(results):
    lines = ["| task | steps | prior | grid | best LR | best loss | best inside grid | range-test stops (seeds 0,1,2) | grid CPU s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n, tr in results["tasks"].items():
        g = tr["grid"]
        lrs = [_num(v) for v in g["lrs"]]
        means = [statistics.mean(_num(v) for v in row) for row in g["scores"]]
        b = int(np.argmin(means))
        inside = 0 < b < len(lrs) - 1
        stops = ", ".join(f"{c['reason']}@{len(c['lrs'])}" for c in tr["curves"])
        ext = g.get("extended", {})
        ext_s = "" if not (ext.get("low") or ext.get("high")) else f" (+{ext.get('low', 0)} low, +{ext.get('high', 0)} high)"
        lines.append(f"| {n} | {tr['steps']} | {tr['prior']:.4f} | {lrs[0]:.0e}..{lrs[-1]:.3g}, {len(lrs)} pts{ext_s} | "
                     f"{lrs[b]:.3g} | {means[b]:.4f} | {'yes' if inside else 'NO'} | {stops} | "
                     f"{tr.get('grid_cpu_seconds', 0):.0f} |")
    return "\n".join(lines)


# ---- score ----------------------------------------------------------------------------------------------------------
def suggest(cli, curve, cfg):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(_clean({"lrs": curve["lrs"], "losses": [_num(v) for v in curve["losses"]],
                          "config": {"num_it": cfg["num_it"], "start_lr": cfg["start_lr"], "end_lr": cfg["end_lr"]}}), f)
        path = f.name
    try:
        p = subprocess.run(["node", cli, "suggest", "--json", path], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{cli} suggest failed ({p.returncode}): {p.stderr.strip()}")
        out = json.loads(p.stdout)
    finally:
        os.unlink(path)
    return {m: (s["lr"] if s else None) for m, s in ((m, out["suggestions"].get(m)) for m in METHODS)}


def interp_log(lrs, values, lr):
    x = math.log10(lr)
    xs = [math.log10(v) for v in lrs]
    if x <= xs[0]:
        return values[0]
    if x >= xs[-1]:
        return values[-1]
    for i in range(len(xs) - 1):
        if xs[i] <= x <= xs[i + 1]:
            t = (x - xs[i]) / (xs[i + 1] - xs[i])
            return values[i] + t * (values[i + 1] - values[i])
    return values[-1]


def regret(grid_lrs_, means, lr):
    if lr is None or not (lr > 0) or not math.isfinite(lr):
        return math.inf
    return interp_log(grid_lrs_, means, lr) / min(means) - 1


def fmt(r):
    return "—" if r is None else ("∞" if math.isinf(r) else f"{100 * r:.1f}%")


def load_results(paths):
    """One results file, or several (comma-separated) merged: their tasks together, the first file's protocol."""
    merged = None
    for p in [x.strip() for x in paths.split(",") if x.strip()]:
        with open(p) as f:
            r = json.load(f)
        if merged is None:
            merged = r
        else:
            merged["tasks"].update(r["tasks"])
    return merged


def cmd_score(a):
    results = load_results(a.results)
    cfg = results["protocol"]
    cli = a.cli if os.path.isabs(a.cli) else os.path.join(ROOT, a.cli)
    if not os.path.exists(cli):
        sys.exit(f"{cli} not found; build it with `node esbuild.js` in {ROOT}")
    t0 = time.perf_counter()
    out = {"cli": cli, "tasks": {}, "summary": {}}
    views = ["primary", "mean3", "k3"]
    for n, tr in results["tasks"].items():
        g = tr["grid"]
        lrs = [_num(v) for v in g["lrs"]]
        means = [statistics.mean(_num(v) for v in row) for row in g["scores"]]
        picks = [suggest(cli, c, cfg) for c in tr["curves"]]
        rec = {"picks": picks}
        for m in METHODS:
            regs = [regret(lrs, means, p[m]) for p in picks]
            avail = [p[m] for p in picks if p[m] is not None]
            k3_lr = 10 ** statistics.median(math.log10(v) for v in avail) if avail else None
            rec[m] = {"primary": regs[0], "mean3": (math.inf if any(math.isinf(r) for r in regs) else statistics.mean(regs)),
                      "k3": regret(lrs, means, k3_lr), "per_curve": regs, "k3_lr": k3_lr}
        out["tasks"][n] = rec
    for v in views:
        out["summary"][v] = {}
        for m in METHODS:
            rs = [out["tasks"][n][m][v] for n in out["tasks"]]
            out["summary"][v][m] = dict(median=statistics.median(rs), worst=max(rs),
                                        within10=sum(1 for r in rs if r <= 0.10), tasks=len(rs))
    out["seconds"] = time.perf_counter() - t0
    names = {"primary": "primary curve (seed 0)", "mean3": "mean over the 3 curves", "k3": "K=3 (median log-LR pick of 3 curves)"}
    label = "PyTorch tasks" if a.set == "main" else f"PyTorch {a.set} tasks"
    lines = []

    def emit(line=""):
        lines.append(line)

    emit(f"# LR suggestion regret on {label} ({len(out['tasks'])} tasks, CLI {os.path.relpath(cli, ROOT)})\n")
    for v in views:
        emit(f"## {names[v]}\n")
        emit("| task | " + " | ".join(METHODS) + " |")
        emit("| --- |" + " --- |" * len(METHODS))
        for n in out["tasks"]:
            emit(f"| {n} | " + " | ".join(fmt(out["tasks"][n][m][v]) for m in METHODS) + " |")
        s = out["summary"][v]
        emit("| **median** | " + " | ".join(fmt(s[m]["median"]) for m in METHODS) + " |")
        emit("| **worst** | " + " | ".join(fmt(s[m]["worst"]) for m in METHODS) + " |")
        emit("| **within 10%** | " + " | ".join(f"{s[m]['within10']}/{s[m]['tasks']}" for m in METHODS) + " |")
        emit()
    emit(f"score phase: {out['seconds']:.1f}s")
    text = "\n".join(lines)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text.rsplit("\nscore phase:", 1)[0].rstrip() + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(_clean(out), f, indent=1)


# ---- verify: lr-finder run --verify on the task as an unchanged script (task_script.py) -----------------------------
TASK_SCRIPT = "bench/torch-quality/task_script.py"
VERIFY_TIMEOUT = 3600  # seconds per task
FASTAI_FOUR = ["valley", "slide", "minimum", "steep"]


def _copy_files():
    """What a temp copy of the repo needs to run task_script.py: the benchmark's code and the CSVs of DATASETS."""
    files = [os.path.join("bench", "torch-quality", f) for f in ("quality.py", "task_script.py", ".gitignore")]
    files += sorted({src[0] for src, _, _ in DATASETS.values() if src != "synthetic"})
    return files


def _tree(root):
    """Every file (path -> sha256) and folder under root, .git left out: the folder byte for byte."""
    import hashlib
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (dirpath == root and d == ".git")]
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = "dir"
        for fn in filenames:
            fp = os.path.join(dirpath, fn)
            with open(fp, "rb") as f:
                out[os.path.normpath(os.path.join(rel, fn))] = hashlib.sha256(f.read()).hexdigest()
    return out


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout


def verify_task(name, cli, python, steps, keep_tmp=False, seeds=None):
    """One `lr-finder run task_script.py --verify --json -- --task NAME` in a fresh temp copy (a git repo of its own);
    every protocol line parsed, the folder compared byte for byte and with git status after."""
    tmp = tempfile.mkdtemp(prefix=f"lrf-verify-{name}-")
    try:
        for rel in _copy_files():
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(ROOT, rel), "rb") as src, open(os.path.join(tmp, rel), "wb") as dst:
                dst.write(src.read())
        _git(tmp, "init", "-q")
        _git(tmp, "add", ".")
        _git(tmp, "commit", "-q", "-m", "snapshot")
        before = _tree(tmp)
        cmd = ["node", cli, "run", TASK_SCRIPT, "--python", python, "--verify", "--json"]
        if steps:
            cmd += ["--verify-steps", str(steps)]
        if seeds:
            cmd += ["--verify-seeds", str(seeds)]
        cmd += ["--", "--task", name]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=VERIFY_TIMEOUT)
            code, stdout, stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            code = "timeout"
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        wall = time.perf_counter() - t0
        after = _tree(tmp)
        status = _git(tmp, "status", "--porcelain", "--ignored")
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        events, malformed = [], []
        for line in stdout.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError:
                malformed.append(line)
        by = lambda t: [e for e in events if e.get("type") == t]  # noqa: E731
        points = by("point")
        hello = (by("hello") or [None])[0]
        rec = dict(
            command=" ".join(["node", os.path.relpath(cli, ROOT) if cli.startswith(ROOT) else cli] + cmd[2:]),
            exit_code=code, wall_seconds=wall,
            hello={k: hello.get(k) for k in ("engine", "backend", "config", "warnings")} if hello else None,
            curve=dict(lrs=[q["lr"] for q in points], losses=[q["loss"] for q in points]),
            end=(by("end") or [None])[0], reports=by("report"), errors=by("error"), candidates=by("candidate"),
            verified=(by("verified") or [None])[0], malformed_lines=malformed[:20],
            stderr_tail=stderr.splitlines()[-40:], folder_identical=not changed, folder_changes=changed,
            git_status=status.splitlines())
        return rec
    finally:
        if not keep_tmp:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


def cmd_verify(a):
    names_all = list(SETS[a.set]["tasks"])
    names = names_all if not a.tasks else a.tasks.split(",")
    for n in names:
        if n not in SETS[a.set]["tasks"]:
            sys.exit(f"unknown task {n} in set {a.set}; known: {', '.join(names_all)}")
    cli = a.cli if os.path.isabs(a.cli) else os.path.join(ROOT, a.cli)
    if not os.path.exists(cli):
        sys.exit(f"{cli} not found; build it with `node esbuild.js` in {ROOT}")
    data = {"set": a.set, "tasks": {}}
    if os.path.exists(a.out):
        with open(a.out) as f:
            data = json.load(f)
    if not a.rescore:
        from concurrent.futures import ThreadPoolExecutor, as_completed
        t_all = time.perf_counter()
        import hashlib
        with open(cli, "rb") as f:
            cli_sha = hashlib.sha256(f.read()).hexdigest()
        data.update(set=a.set, cli=os.path.relpath(cli, ROOT) if cli.startswith(ROOT) else cli, cli_sha256=cli_sha,
                    product=a.product, python=a.python, workers=a.workers,
                    steps=a.steps or "default", seeds=a.seeds or "default", head=_git(ROOT, "rev-parse", "HEAD").strip())
        with ThreadPoolExecutor(max_workers=a.workers) as pool:
            futs = {pool.submit(verify_task, n, cli, a.python, a.steps, a.keep, a.seeds): n for n in names}
            for fut in as_completed(futs):
                n = futs[fut]
                r = fut.result()
                data["tasks"][n] = r
                v = r["verified"]
                print(f"{n}: exit {r['exit_code']}, {r['wall_seconds']:.0f}s, "
                      + (f"verified {v['lr']:.3g} (center {v['center']:.3g}, {len(v['candidates'])} candidates, "
                         f"{v['totalSteps']} steps, {v['signal']})" if v else
                         f"no verified LR: {(r['errors'] or [{}])[-1].get('message', '')!s:.300} {' | '.join(r['stderr_tail'][-3:])!s:.300}")
                      + ("" if r["folder_identical"] and not r["git_status"] else f"; FOLDER CHANGED: {r['folder_changes']} {r['git_status']}"),
                      flush=True)
                data["tasks"] = {k: data["tasks"][k] for k in names_all if k in data["tasks"]}
                with open(a.out, "w") as f:
                    json.dump(_clean(data), f, indent=1)
        data["wall_seconds"] = time.perf_counter() - t_all
        with open(a.out, "w") as f:
            json.dump(_clean(data), f, indent=1)
        print(f"wrote {a.out}; verify phase wall time {data['wall_seconds']:.0f}s\n", flush=True)
    text = verify_report(data, load_results(a.results), cli, a.set)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")


def verify_scores(data, results, cli):
    """Per task: the regret (as in `score`) of the verified LR, of the recommendation it was centred on, of every
    method on the same (the hook's) curve, and of the best candidate by the grid (what a perfect held-out signal
    would have picked)."""
    out = {}
    for n, r in data["tasks"].items():
        if n not in results["tasks"]:
            continue
        g = results["tasks"][n]["grid"]
        lrs = [_num(v) for v in g["lrs"]]
        means = [statistics.mean(_num(v) for v in row) for row in g["scores"]]
        best = lrs[int(np.argmin(means))]
        curve = dict(lrs=r["curve"]["lrs"], losses=r["curve"]["losses"])
        cfg = (r.get("hello") or {}).get("config") or {}
        picks = {m: None for m in METHODS}
        if len(curve["lrs"]) >= 2:
            picks = suggest(cli, curve, dict(num_it=cfg.get("numIter", NUM_IT), start_lr=cfg.get("startLr", START_LR),
                                             end_lr=cfg.get("endLr", END_LR)))
        bench_rec = suggest(cli, results["tasks"][n]["curves"][0], results["protocol"])["recommended"]
        v = r.get("verified")
        cands = []
        for c in r.get("candidates", []):
            cands.append(dict(lr=c["lr"], loss=_num(c["loss"]), train_loss=_num(c.get("trainLoss")),
                              diverged=c["diverged"], signal=c["signal"], rows=c.get("rows"), seconds=c.get("seconds"),
                              regret=regret(lrs, means, c["lr"])))
        s = dict(best_lr=best, best_loss=min(means), grid_low=lrs[0], grid_high=lrs[-1], picks=picks,
                 bench_recommended=bench_rec, bench_recommended_regret=regret(lrs, means, bench_rec),
                 candidates=cands, exit_code=r["exit_code"], wall=r["wall_seconds"],
                 folder_ok=r["folder_identical"] and not r["git_status"], curve_points=len(curve["lrs"]),
                 end=(r.get("end") or {}).get("reason"))
        for m in METHODS:
            s[m] = regret(lrs, means, picks[m])
        if v:
            s.update(verified_lr=v["lr"], center=v["center"], verified=regret(lrs, means, v["lr"]),
                     center_regret=regret(lrs, means, v["center"]), total_steps=v["totalSteps"],
                     cost=v["totalSteps"] / 100, signal=v["signal"], at_edge=v.get("atEdge"), partial=v["partial"],
                     n_candidates=len(v["candidates"]),
                     rows=sorted({c.get("rows") for c in r["candidates"] if not c["diverged"]} - {None}),
                     center_matches=(picks["recommended"] is not None
                                     and abs(picks["recommended"] / v["center"] - 1) < 1e-6),
                     oracle=min((c["regret"] for c in cands), default=math.inf))
        else:
            s.update(verified_lr=None, center=picks["recommended"], verified=math.inf, center_regret=s["recommended"],
                     total_steps=sum(c.get("steps", 0) for c in r.get("candidates", [])), cost=None, signal=None,
                     oracle=min((c["regret"] for c in cands), default=math.inf))
        out[n] = s
    return out


def verify_report(data, results, cli, set_name):
    sc = verify_scores(data, results, cli)
    g3 = lambda x: "—" if x is None else f"{x:.3g}"  # noqa: E731
    lines = [f"# Verify on PyTorch {set_name} tasks as unchanged scripts ({len(sc)} tasks, CLI {os.path.relpath(cli, ROOT)})", "",
             "Regret against the task's recorded grid (as `score`); cost = training steps of Verify / 100 (range tests' "
             "worth); `best cand.` = the regret of the candidate the grid likes best (a perfect held-out signal).", "",
             "| task | best grid LR | recommended | verified | verified regret | recommended regret | "
             + " | ".join(FASTAI_FOUR) + " | best cand. | candidates | cost | signal (rows) | wall s |",
             "| --- |" + " --- |" * (10 + len(FASTAI_FOUR))]
    for n, s in sc.items():
        edge = f" ({s['at_edge']} edge)" if s.get("at_edge") else ""
        sig = f"{s['signal']} ({'/'.join(str(x) for x in s['rows'])})" if s.get("signal") else f"— (exit {s['exit_code']})"
        cost = "—" if s["cost"] is None else f"{s['cost']:.1f}"
        lines.append(f"| {n} | {g3(s['best_lr'])} | {g3(s['center'])} | {g3(s['verified_lr'])}{edge} | {fmt(s['verified'])} | "
                     f"{fmt(s['center_regret'])} | " + " | ".join(fmt(s[m]) for m in FASTAI_FOUR)
                     + f" | {fmt(s['oracle'])} | {s.get('n_candidates', len(s['candidates']))} | "
                     f"{cost} | {sig} | {s['wall']:.0f} |")
    rows = [("verified", "verified"), ("recommended (its center)", "center_regret")] + [(m, m) for m in FASTAI_FOUR] + \
        [("steepest", "steepest"), ("best candidate (oracle)", "oracle"), ("recommended on the benchmark's curve 0", "bench_recommended_regret")]
    lines += ["", "| method | median | worst | within 10% |", "| --- | --- | --- | --- |"]
    for label, key in rows:
        rs = [s[key] for s in sc.values()]
        if not rs:
            continue
        lines.append(f"| {label} | {fmt(statistics.median(rs))} | {fmt(max(rs))} | {sum(1 for x in rs if x <= 0.10)}/{len(rs)} |")
    costs = [s["cost"] for s in sc.values() if s["cost"] is not None]
    walls = [s["wall"] for s in sc.values()]
    if costs:
        lines += ["", f"cost (range tests' worth): median {statistics.median(costs):.1f}, max {max(costs):.1f}; "
                      f"wall per task: median {statistics.median(walls):.0f} s, max {max(walls):.0f} s, total {sum(walls):.0f} s"]
    bad = [n for n, s in sc.items() if not s["folder_ok"]]
    lines.append(f"folder byte-identical and git status clean after every run: {'yes' if not bad else 'NO: ' + ', '.join(bad)}")
    mism = [n for n, s in sc.items() if s.get("center_matches") is False]
    if mism:
        lines.append(f"verified center differs from `suggest` on the same curve: {', '.join(mism)}")
    failed = [n for n, s in sc.items() if s["exit_code"] != 0 or s["verified_lr"] is None]
    if failed:
        lines.append(f"runs without a verified LR or with a non-zero exit: {', '.join(failed)}")
    return "\n".join(lines)


# ---- reproduce: task_script.py run plainly at the best grid LR ------------------------------------------------------
def cmd_reproduce(a):
    results = load_results(a.results)
    names = a.tasks.split(",") if a.tasks else list(results["tasks"])
    rows = ["| task | best grid LR | grid val loss per seed | grid mean | task_script val loss per seed | script mean | diff |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for n in names:
        g = results["tasks"][n]["grid"]
        lrs = [_num(v) for v in g["lrs"]]
        means = [statistics.mean(_num(v) for v in row) for row in g["scores"]]
        b = int(np.argmin(means))
        got = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in g["seeds"]:
                p = subprocess.run([a.python, os.path.join(HERE, "task_script.py"), "--task", n, "--lr", repr(lrs[b]),
                                    "--seed", str(seed), "--out", os.path.join(tmp, "model.pt")],
                                   cwd=tmp, capture_output=True, text=True, check=True)
                last = [ln for ln in p.stdout.splitlines() if ln.startswith("final val_loss=")][-1]
                got.append(float(last.split()[1].split("=")[1]))
        grid_vals = [_num(v) for v in g["val_losses"][b]]
        m = statistics.mean(got)
        rows.append(f"| {n} | {lrs[b]:.3g} | {', '.join(f'{v:.4f}' for v in grid_vals)} | {means[b]:.4f} | "
                    f"{', '.join(f'{v:.4f}' for v in got)} | {m:.4f} | {100 * (m / means[b] - 1):+.1f}% |")
        print(rows[-1], flush=True)
    print("\n".join(rows))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    set_help = ("task set: main (TASKS, results.json), holdout (HOLDOUT_TASKS, results-holdout.json) or verify "
                "(VERIFY_TASKS, results-verify.json); default main")
    r = sub.add_parser("run", help="range tests + trained LR grids (expensive) -> results.json")
    r.add_argument("--set", choices=list(SETS), default="main", help=set_help)
    r.add_argument("--tasks", help="comma-separated task names (default: all of the set)")
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--out", help="results file (default: the set's)")
    s = sub.add_parser("score", help="regret of each suggestion method (cheap)")
    s.add_argument("--set", choices=list(SETS), default="main", help=set_help)
    s.add_argument("--results", help="results file, or several comma-separated (merged) (default: the set's)")
    s.add_argument("--md", help="also write the tables (markdown) to this file")
    s.add_argument("--cli", default="dist/cli.js", help="CLI to use (relative to the repo root or absolute)")
    s.add_argument("--json", help="also write the scores to this JSON file")
    g = sub.add_parser("grid", help="print the grid summary of a results file (best LR, best loss, inside or not)")
    g.add_argument("--set", choices=list(SETS), default="main", help=set_help)
    g.add_argument("--results", help="results file (default: the set's)")
    v = sub.add_parser("verify", help="lr-finder run task_script.py --verify per task, then regret of the verified LR")
    v.add_argument("--set", choices=list(SETS), default="main", help=set_help)
    v.add_argument("--tasks", help="comma-separated task names (default: all of the set)")
    v.add_argument("--workers", type=int, default=2, help="tasks at a time (default 2)")
    v.add_argument("--python", default=sys.executable, help="the Python with torch the script runs under")
    v.add_argument("--steps", type=int, default=None, help="--verify-steps (default: the CLI's own)")
    v.add_argument("--seeds", type=int, default=None, help="--verify-seeds (default: the CLI's own)")
    v.add_argument("--cli", default="dist/cli.js", help="CLI to use (relative to the repo root or absolute)")
    v.add_argument("--out", help="verify results (default: bench/torch-quality/verify-SET.json)")
    v.add_argument("--results", help="the set's grid results (default: the set's)")
    v.add_argument("--rescore", action="store_true", help="only score the recorded verify results (cheap)")
    v.add_argument("--product", help="what the CLI was built from (recorded), e.g. 'commit abc1234'")
    v.add_argument("--keep", action="store_true", help="keep each run's temp copy")
    v.add_argument("--md", help="also write the tables (markdown) to this file")
    rp = sub.add_parser("reproduce", help="task_script.py run plainly at each task's best grid LR, grid seeds")
    rp.add_argument("--set", choices=list(SETS), default="main", help=set_help)
    rp.add_argument("--tasks", help="comma-separated task names (default: all of the set)")
    rp.add_argument("--results", help="the set's grid results (default: the set's)")
    rp.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    if a.cmd == "run":
        a.out = a.out or SETS[a.set]["results"]
    else:
        a.results = a.results or SETS[a.set]["results"]
    if a.cmd == "verify":
        a.out = a.out or os.path.join(HERE, f"verify-{a.set}.json")
        cmd_verify(a)
    elif a.cmd == "reproduce":
        cmd_reproduce(a)
    elif a.cmd == "run":
        cmd_run(a)
    elif a.cmd == "score":
        cmd_score(a)
    else:
        with open(a.results) as f:
            print(grid_report(json.load(f)))


if __name__ == "__main__":
    main()
