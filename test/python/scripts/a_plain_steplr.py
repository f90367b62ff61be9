"""Iris species classifier: a plain training loop, SGD with momentum and a StepLR schedule."""
import argparse
import csv
import logging
import time

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

SPECIES = ["setosa", "versicolor", "virginica"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/iris.csv")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="iris_mlp.pt")
    return parser.parse_args(argv)


def load_iris(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    features = [k for k in rows[0] if k != "species"]
    x = torch.tensor([[float(r[k]) for k in features] for r in rows])
    y = torch.tensor([SPECIES.index(r["species"]) for r in rows])
    return x, y


def train_val_split(x, y, val_fraction=0.2, seed=0):
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = int(len(x) * val_fraction)
    val, train = perm[:n_val], perm[n_val:]
    mean, std = x[train].mean(0), x[train].std(0)
    norm = lambda t: (t - mean) / std
    return (norm(x[train]), y[train]), (norm(x[val]), y[val])


class MLP(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    logits = model(x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.manual_seed(args.seed)

    x, y = load_iris(args.data)
    (x_train, y_train), (x_val, y_val) = train_val_split(x, y)
    model = MLP(x.shape[1], args.hidden, len(SPECIES))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x_train))
        total = 0.0
        for start in range(0, len(x_train), args.batch_size):
            idx = perm[start:start + args.batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        scheduler.step()
        val_loss, val_acc = evaluate(model, x_val, y_val)
        logger.info("epoch %d  train %.4f  val %.4f  acc %.3f  lr %.2e", epoch + 1, total / len(x_train),
                    val_loss, val_acc, scheduler.get_last_lr()[0])
    torch.save(model.state_dict(), args.out)
    logger.info("saved %s after %.1fs", args.out, time.time() - t0)


if __name__ == "__main__":
    main()
