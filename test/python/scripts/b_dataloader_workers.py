"""Handwritten digits (8x8) with a Dataset class, a shuffling DataLoader with two worker processes and Adam."""
import argparse
import csv
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, random_split


class DigitsDataset(Dataset):
    """Rows of digits.csv: 64 pixel intensities (0-16) and the label."""

    def __init__(self, path):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            rows = [list(map(int, r)) for r in reader]
        self.pixels = torch.tensor([r[:-1] for r in rows], dtype=torch.float32)
        self.labels = torch.tensor([r[-1] for r in rows])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = (self.pixels[i] / 16.0 - 0.5).view(1, 8, 8)
        return image, self.labels[i]


class SmallConvNet(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(16 * 2 * 2, n_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def make_loaders(args):
    dataset = DigitsDataset(args.data)
    n_val = len(dataset) // 5
    train_set, val_set = random_split(dataset, [len(dataset) - n_val, n_val],
                                      generator=torch.Generator().manual_seed(args.seed))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              num_workers=args.workers, persistent_workers=False, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=256, num_workers=0)
    return train_loader, val_loader


def evaluate(model, loader, criterion):
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            out = model(images)
            total += criterion(out, labels).item() * len(labels)
            correct += (out.argmax(1) == labels).sum().item()
            n += len(labels)
    return total / n, correct / n


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=os.path.join("data", "digits.csv"))
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    train_loader, val_loader = make_loaders(args)
    model = SmallConvNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    for epoch in range(1, args.epochs + 1):
        model.train()
        for step, (images, labels) in enumerate(train_loader):
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            if step % 20 == 0:
                print(f"epoch {epoch} step {step:3d} loss {loss.item():.4f}", flush=True)
        val_loss, val_acc = evaluate(model, val_loader, criterion)
        print(f"epoch {epoch}: val loss {val_loss:.4f} acc {val_acc:.3f}")

    torch.save(model.state_dict(), "digits_cnn.pt")


if __name__ == "__main__":
    main()
