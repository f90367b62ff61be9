"""Fit a small network to a noisy 1-D function with L-BFGS (closure steps that evaluate several times)."""
import argparse

import torch
from torch import nn


def make_curve(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-3, 3, n).unsqueeze(1)
    y = torch.sin(2 * x) * torch.exp(-0.2 * x ** 2) + 0.05 * torch.randn(n, 1, generator=g)
    return x, y


def build_model(hidden=16):
    return nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-iter", type=int, default=4, help="L-BFGS iterations per step")
    p.add_argument("--seed", type=int, default=5)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_curve(seed=args.seed)
    model = build_model()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=args.lr, max_iter=args.max_iter, history_size=8)
    mse = nn.MSELoss()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(x))
        for start in range(0, len(x), args.batch_size):
            idx = perm[start:start + args.batch_size]

            def closure():
                optimizer.zero_grad()
                loss = mse(model(x[idx]), y[idx])
                loss.backward()
                return loss

            optimizer.step(closure)
        with torch.no_grad():
            print(f"epoch {epoch}: mse {mse(model(x), y).item():.5f}")
    torch.save(model.state_dict(), "lbfgs_fit.pt")


if __name__ == "__main__":
    main()
