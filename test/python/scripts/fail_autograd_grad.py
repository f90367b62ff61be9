"""Gradients computed with torch.autograd.grad and written into .grad by hand (as meta-learning code does)."""
import argparse

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--epochs", type=int, default=20)
    args = p.parse_args()
    torch.manual_seed(0)
    x, y = torch.randn(512, 4), torch.randn(512, 1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    params = list(model.parameters())
    for epoch in range(args.epochs):
        for i in range(0, len(x), 64):
            loss = nn.functional.mse_loss(model(x[i:i + 64]), y[i:i + 64])
            grads = torch.autograd.grad(loss, params)
            for p_, g in zip(params, grads):
                p_.grad = g
            optimizer.step()


if __name__ == "__main__":
    main()
