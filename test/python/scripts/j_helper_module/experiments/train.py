"""Tabular regression; the pieces live in helpers.py next to this file. Run from the project root:
python experiments/train.py"""
import argparse

import torch

from helpers import WideMLP, make_loader, set_seed


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=17)
    return p.parse_args(argv)


def main():
    args = parse_args()
    set_seed(args.seed)
    loader = make_loader(args.batch_size)
    model = WideMLP()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=args.lr, alpha=0.9)
    for epoch in range(args.epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: {loss.item():.4f}")


if __name__ == "__main__":
    main()
