"""Fit a small network to a noisy 1-D curve with L-BFGS, mini-batches from a DataLoader (closure steps)."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


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
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-iter", type=int, default=4, help="L-BFGS iterations per step")
    p.add_argument("--seed", type=int, default=5)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_curve(seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size)
    model = build_model()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=args.lr, max_iter=args.max_iter, history_size=8)
    mse = nn.MSELoss()
    for epoch in range(args.epochs):
        for xb, yb in loader:
            def closure():
                optimizer.zero_grad()
                loss = mse(model(xb), yb)
                loss.backward()
                return loss

            loss = optimizer.step(closure)
        print(f"epoch {epoch}: last batch mse {loss.item():.5f}")
    torch.save(model.state_dict(), "lbfgs_fit.pt")


if __name__ == "__main__":
    main()
