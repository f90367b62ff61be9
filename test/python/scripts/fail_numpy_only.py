"""A numpy-only logistic regression: nothing for a PyTorch range test to hook."""
import argparse

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.1)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x.sum(1) > 0).astype(float)
    w = np.zeros(3)
    for _ in range(200):
        pred = 1 / (1 + np.exp(-x @ w))
        w -= args.lr * x.T @ (pred - y) / len(y)
    print("w", w)


if __name__ == "__main__":
    main()
