"""Two-spirals classification with small micro-batches: gradient accumulation x4, dropout and gradient clipping."""
import argparse
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_spirals(n_per_class=400, noise=0.15, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n_per_class, generator=g) * 3 * math.pi + 0.5
    arm = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1) / (3 * math.pi)
    x = torch.cat([arm, -arm]) + noise * torch.randn(2 * n_per_class, 2, generator=g) / 3
    y = torch.cat([torch.zeros(n_per_class), torch.ones(n_per_class)]).long()
    return x, y


class SpiralNet(nn.Module):
    def __init__(self, hidden=64, p_drop=0.2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, hidden), nn.Tanh(), nn.Dropout(p_drop),
            nn.Linear(hidden, hidden), nn.Tanh(), nn.Dropout(p_drop),
            nn.Linear(hidden, 2),
        )

    def forward(self, x):
        return self.net(x)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=8, help="micro-batch size")
    p.add_argument("--accumulate", type=int, default=4, help="micro-batches per optimizer step")
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=3)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_spirals(seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    model = SpiralNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True)

    step = 0
    for epoch in range(args.epochs):
        model.train()
        running = 0.0
        optimizer.zero_grad()
        for i, (xb, yb) in enumerate(loader):
            loss = criterion(model(xb), yb) / args.accumulate
            loss.backward()
            running += loss.item()
            if (i + 1) % args.accumulate == 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
                step += 1
        print(f"epoch {epoch}: {step} steps, mean loss {running / (len(loader) / args.accumulate):.4f}")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, "spirals.ckpt")


if __name__ == "__main__":
    main()
