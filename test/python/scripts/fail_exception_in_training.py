"""A classifier with a classic bug: reshaping with the configured batch size breaks on the last, smaller batch."""
import argparse

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    torch.manual_seed(0)
    images = torch.rand(300, 5, 5)
    labels = torch.randint(0, 3, (300,))
    model = nn.Sequential(nn.Linear(25, 32), nn.ReLU(), nn.Linear(32, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        for start in range(0, len(images), args.batch_size):
            xb = images[start:start + args.batch_size]
            yb = labels[start:start + args.batch_size]
            flat = xb.view(args.batch_size, -1)  # BUG_LINE: fails on the last batch (300 % 32 = 12 images)
            loss = nn.functional.cross_entropy(model(flat), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


if __name__ == "__main__":
    main()
