"""An experiment script with the usual file side effects: it wipes and recreates its run folder, writes the
config as JSON, rotates its log file, removes a stale lock, saves arrays with numpy, keeps a pickled history
written atomically (temp file + os.replace), points a `latest` symlink at the run, and fills a cache outside the
project (--cache-dir)."""
import argparse
import json
import logging
import os
import pickle
import shutil
import tempfile
from logging.handlers import RotatingFileHandler
from pathlib import Path

import numpy as np
import torch
from torch import nn

log = logging.getLogger("exp")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--run-dir", default="runs/exp1")
    p.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "lrf-test-cache"))
    return p.parse_args(argv)


def make_data(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long()
    return x, y


def build_model():
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))


def atomic_pickle(obj, path):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        pickle.dump(obj, f)
    os.replace(tmp, path)


def main():
    args = parse_args()
    run = Path(args.run_dir)
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(vars(args), indent=2))
    if os.path.exists("train.lock"):
        os.remove("train.lock")
    if os.path.islink("latest") or os.path.exists("latest"):
        os.unlink("latest")
    os.symlink(run, "latest")
    handler = RotatingFileHandler("train.log", maxBytes=300, backupCount=2)
    logging.basicConfig(level=logging.INFO, handlers=[handler], format="%(asctime)s %(message)s")
    os.makedirs(args.cache_dir, exist_ok=True)

    torch.manual_seed(args.seed)
    x, y = make_data(seed=args.seed)
    np.save(os.path.join(args.cache_dir, "features.npy"), x.numpy())
    model = build_model()
    np.save(run / "init_weight.npy", model[0].weight.detach().numpy())
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    history = []
    for epoch in range(args.epochs):
        perm = torch.randperm(len(x))
        for start in range(0, len(x), args.batch_size):
            idx = perm[start:start + args.batch_size]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            history.append(loss.item())
            log.info("epoch %d step %d loss %.4f", epoch, len(history), loss.item())
        atomic_pickle(history, str(run / "history.pkl"))
    torch.save(model.state_dict(), run / "model.pt")


if __name__ == "__main__":
    main()
