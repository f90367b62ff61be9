"""Train a small CNN on the 8x8 handwritten digits (1,797 images, 10 classes) with PyTorch.

Adam with a one-cycle schedule, per-epoch validation, and the best model saved at the end. LR Finder's script
engine runs this file unchanged for a range test; the LR it finds goes into --lr below (the max LR of the cycle).
"""
import argparse
import csv
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, random_split

HERE = Path(__file__).resolve().parent


class Digits(Dataset):
    """digits.csv: 64 pixel intensities (0-16, row by row) and the label (0-9) per line."""

    def __init__(self, path):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            next(reader)  # header
            rows = [[int(v) for v in r] for r in reader]
        data = torch.tensor(rows)
        self.images = (data[:, :64].float() / 16.0).view(-1, 1, 8, 8)
        self.labels = data[:, 64]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class DigitsCNN(nn.Module):
    def __init__(self, n_classes=10, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 16 x 4 x 4
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 32 x 2 x 2
        x = self.dropout(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(HERE / "digits.csv"))
    p.add_argument("--lr", type=float, default=1e-3, help="max LR of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(HERE / "digits_cnn.pt"), help="where the best model is saved")
    return p.parse_args()


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    for images, labels in loader:
        logits = model(images)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        n += len(labels)
    return loss_sum / n, correct / n


def main():
    args = parse_args()
    torch.manual_seed(args.seed)

    dataset = Digits(args.data)
    n_val = int(len(dataset) * args.val_fraction)
    train_set, val_set = random_split(dataset, [len(dataset) - n_val, n_val],
                                      generator=torch.Generator().manual_seed(args.seed))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)

    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                    steps_per_epoch=len(train_loader))
    print(f"{len(train_set)} training / {len(val_set)} validation images, {len(train_loader)} steps per epoch, "
          f"{sum(p.numel() for p in model.parameters())} parameters")

    best_acc, best_state, t0 = -1.0, None, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        running, seen = 0.0, 0
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item() * len(labels)
            seen += len(labels)
        val_loss, val_acc = evaluate(model, val_loader)
        print(f"epoch {epoch:2d}  train loss {running / seen:.4f}  val loss {val_loss:.4f}  val acc {val_acc:.3f}  "
              f"lr {scheduler.get_last_lr()[0]:.2e}")
        if val_acc > best_acc:
            best_acc = val_acc
            best_state = {k: v.clone() for k, v in model.state_dict().items()}

    torch.save({"model": best_state, "val_acc": best_acc, "args": vars(args)}, args.out)
    print(f"best val acc {best_acc:.3f}; saved {args.out} ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
