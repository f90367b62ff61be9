import csv

import torch
from torch.utils.data import DataLoader, TensorDataset


def load_digits(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [[int(v) for v in r] for r in reader]
    t = torch.tensor(rows)
    images = t[:, :64].float().div(16.0).view(-1, 1, 8, 8)
    return images, t[:, 64]


def loaders(path, batch_size, val_fraction=0.2, seed=0):
    images, labels = load_digits(path)
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_val = int(len(labels) * val_fraction)
    val, train = perm[:n_val], perm[n_val:]
    train_loader = DataLoader(TensorDataset(images[train], labels[train]), batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(TensorDataset(images[val], labels[val]), batch_size=512)
    return train_loader, val_loader
