"""Fine-tuning in two phases: first only the head is trained (one optimizer), then the whole network is unfrozen
and a new optimizer is built for it, with a lower LR for the backbone."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--head-epochs", type=int, default=1)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x = torch.randn(640, 8)
    y = (x[:, :2].sum(1) > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    backbone = nn.Sequential(nn.Linear(8, 32), nn.ReLU())
    head = nn.Linear(32, 2)
    model = nn.Sequential(backbone, head)
    for p_ in backbone.parameters():
        p_.requires_grad_(False)
    optimizer = torch.optim.Adam(head.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        if epoch == args.head_epochs:
            for p_ in backbone.parameters():
                p_.requires_grad_(True)
            optimizer = torch.optim.Adam([{"params": backbone.parameters(), "lr": args.lr / 10},
                                          {"params": head.parameters()}], lr=args.lr)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: {loss.item():.4f}")


if __name__ == "__main__":
    main()
