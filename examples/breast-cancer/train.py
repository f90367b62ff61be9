"""Train the breast-cancer classifier (PyTorch). LR Finder writes the chosen learning rate into --lr below."""
import argparse

import torch
from torch import nn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.01, help="max LR of the one-cycle schedule (e.g. lr=0.01)")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    args = parser.parse_args()

    model = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))
    # lr = 0.5 diverged in our tests; keep the finder's value
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * 15)
    print(model, optimizer, scheduler)


if __name__ == "__main__":
    main()
