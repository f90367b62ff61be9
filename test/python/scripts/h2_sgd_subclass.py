"""A subclass of torch.optim.SGD that rescales each gradient to unit RMS before calling super().step()."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class NormalizedSGD(torch.optim.SGD):
    """SGD on per-tensor RMS-normalised gradients (a classic trick for badly scaled layers)."""

    def __init__(self, params, lr, eps=1e-8, **kwargs):
        super().__init__(params, lr=lr, **kwargs)
        self.eps = eps

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.div_(p.grad.pow(2).mean().sqrt().add_(self.eps))
        return super().step(closure)


def make_data(n=800, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g) * torch.tensor([1, 10, 0.1, 1, 5, 0.5])
    logits = x @ torch.randn(6, 1, generator=g) * torch.tensor([[0.5]])
    y = (logits.squeeze(1) > 0).float()
    return x, y


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=13)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_data(seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = NormalizedSGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    criterion = nn.BCEWithLogitsLoss()
    for epoch in range(args.epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb).squeeze(1), yb)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
