"""Skips "bad batches" with a bare except, which also catches SystemExit."""
import argparse

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=30)
    args = p.parse_args()
    torch.manual_seed(0)
    x = torch.randn(512, 5)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    skipped = 0
    for epoch in range(args.epochs):
        for i in range(0, len(x), 32):
            try:
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
                loss.backward()
                opt.step()
            except:  # noqa: E722 -- "never let one bad batch kill a long run"
                skipped += 1
                continue
    print("skipped", skipped)
    with open("done.txt", "w") as f:
        f.write("finished\n")


if __name__ == "__main__":
    main()
