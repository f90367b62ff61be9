"""Linear regression with a hand-written gradient descent update: no torch.optim optimizer at all."""
import argparse

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=50)
    args = p.parse_args()
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    w = torch.zeros(3, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for epoch in range(args.epochs):
        for i in range(0, len(x), 32):
            loss = ((x[i:i + 32] @ w + b - y[i:i + 32]) ** 2).mean()
            loss.backward()
            for p_ in (w, b):
                p_.data -= args.lr * p_.grad
                p_.grad.zero_()
    print(f"w={w.tolist()} b={b.item():.3f} loss={loss.item():.5f}")


if __name__ == "__main__":
    main()
