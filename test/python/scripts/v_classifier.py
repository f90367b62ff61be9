"""Synthetic tabular classifier: a Dataset class, a shuffled DataLoader (optionally with worker processes), an MLP,
Adam with a cosine schedule, a validation pass, a checkpoint and a CSV log per epoch."""
import argparse
import csv
import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Blobs(Dataset):
    """Four Gaussian blobs in 8 dimensions. Each sample is (features, label, its index): the index goes to the log."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 4, (n,), generator=g)
        centers = torch.randn(4, 8, generator=torch.Generator().manual_seed(99)) * 1.5
        self.x = centers[self.y] + torch.randn(n, 8, generator=g)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i], i


class MLP(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 4)

    def forward(self, x):
        return self.head(self.body(x))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trace", action="store_true", help="print the indices of every training batch")
    p.add_argument("--out", default="runs")
    return p.parse_args(argv)


def make_datasets():
    return Blobs(600, seed=1), Blobs(200, seed=2)


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
    model = MLP(args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "log.csv"), "w", newline="") as f:
        log = csv.writer(f)
        log.writerow(["epoch", "train_loss", "val_loss"])
        for epoch in range(args.epochs):
            model.train()
            total, n = 0.0, 0
            for x, y, idx in train_loader:
                if args.trace:
                    print("batch " + " ".join(str(i) for i in idx.tolist()), flush=True)
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item() * len(y)
                n += len(y)
            val = evaluate(model, val_loader)
            log.writerow([epoch, total / n, val])
            print(f"epoch {epoch}: train {total / n:.4f} val {val:.4f}", flush=True)
            torch.save(model.state_dict(), os.path.join(args.out, "last.pt"))


if __name__ == "__main__":
    main()
