"""Multinomial logistic regression on Gaussian blobs, stepping with optimizer.step(closure)."""
import argparse

import torch
from torch import nn


def make_blobs(n=600, n_classes=3, dim=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = 2.0 * torch.randn(n_classes, dim, generator=g)
    y = torch.randint(0, n_classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, dim, generator=g)
    return x, y


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=11)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_blobs(seed=args.seed)
    model = nn.Linear(x.shape[1], 3)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.5, dampening=0.1)

    for epoch in range(args.epochs):
        perm = torch.randperm(len(x))
        for start in range(0, len(x), args.batch_size):
            idx = perm[start:start + args.batch_size]

            def closure():
                optimizer.zero_grad()
                loss = criterion(model(x[idx]), y[idx])
                loss.backward()
                return loss

            loss = optimizer.step(closure)
        print(f"epoch {epoch} loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
