"""Reads its data from a CSV file that does not exist, before any training step."""
import argparse
import csv

import torch
from torch import nn


def load(path):
    with open(path, newline="") as f:  # OPEN_LINE
        rows = [[float(v) for v in r] for r in csv.reader(f)]
    t = torch.tensor(rows)
    return t[:, :-1], t[:, -1:]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--data", default="data/features.csv")
    args = p.parse_args()
    model = nn.Linear(8, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    x, y = load(args.data)
    for _ in range(100):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


if __name__ == "__main__":
    main()
