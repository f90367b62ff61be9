"""Synthetic tabular classifier with BatchNorm and Dropout: a shuffled DataLoader (optionally with worker processes),
model.train() at every epoch's start, Adam, a validation pass in eval mode after every epoch, a checkpoint."""
import argparse
import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Blobs(Dataset):
    """Four Gaussian blobs in 8 dimensions. Each sample is (features, label, its index)."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 4, (n,), generator=g)
        centers = torch.randn(4, 8, generator=torch.Generator().manual_seed(99)) * 1.5
        self.x = centers[self.y] + torch.randn(n, 8, generator=g) * 1.5

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i], i


class Net(nn.Module):
    def __init__(self, hidden, p):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(p),
                                  nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p))
        self.head = nn.Linear(hidden, 4)

    def forward(self, x):
        return self.head(self.body(x))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trace", action="store_true", help="print every batch's indices and the modules' modes")
    return p.parse_args(argv)


def make_datasets():
    return Blobs(600, seed=1), Blobs(200, seed=2)


def modes(model):
    """1/0 per module: the model, its BatchNorm, its Dropouts."""
    ms = [model, model.body[1], model.body[3], model.body[6]]
    return " ".join(str(int(m.training)) for m in ms)


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    total, n = 0.0, 0
    for x, y, _ in loader:
        total += F.cross_entropy(model(x), y, reduction="sum").item()
        n += len(y)
    return total / max(n, 1)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    train_set, val_set = make_datasets()
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    val_loader = DataLoader(val_set, batch_size=100)
    model = Net(args.hidden, args.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        model.train()
        total, n = 0.0, 0
        for x, y, idx in train_loader:
            if args.trace:
                print("batch " + " ".join(str(i) for i in idx.tolist()), flush=True)
                print("modes " + modes(model), flush=True)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            n += len(y)
        val = evaluate(model, val_loader)
        print(f"epoch {epoch}: train {total / n:.4f} val {val:.4f}", flush=True)
    torch.save(model.state_dict(), "last.pt")


if __name__ == "__main__":
    main()
