"""A step-based loop (no epochs): an iterator over the DataLoader restarted when exhausted, --max-steps 40."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--max-steps", type=int, default=40)
    p.add_argument("--eval-every", type=int, default=20)
    args = p.parse_args()
    torch.manual_seed(0)
    x = torch.randn(300, 5)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16, shuffle=True)
    model = nn.Linear(5, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    it = iter(loader)
    for step in range(args.max_steps):
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            xb, yb = next(it)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        if (step + 1) % args.eval_every == 0:
            print(f"step {step + 1}: {loss.item():.4f}")


if __name__ == "__main__":
    main()
