"""Train DigitNet: python -m digitnet.train [--lr 0.05] [--epochs 3]"""
import argparse

import torch
from torch import nn

from . import __version__
from .data import loaders
from .model import DigitNet


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="digitnet.train", description=__doc__)
    p.add_argument("--data", default="data/digits.csv")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=21)
    return p.parse_args(argv)


def validate(model, loader):
    model.eval()
    correct = n = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            n += len(y)
    return correct / n


def main():
    args = parse_args()
    print(f"digitnet {__version__}")
    torch.manual_seed(args.seed)
    train_loader, val_loader = loaders(args.data, args.batch_size, seed=args.seed)
    model = DigitNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: loss {loss.item():.4f} val acc {validate(model, val_loader):.3f}")
    torch.save(model.state_dict(), "digitnet.pt")


if __name__ == "__main__":
    main()
