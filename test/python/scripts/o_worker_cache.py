"""Images decoded once and cached on disk by the Dataset itself, in the DataLoader's worker processes."""
import argparse
import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class CachedDataset(Dataset):
    def __init__(self, n=640, cache_dir=".cache/decoded", seed=0):
        self.cache_dir = cache_dir
        g = torch.Generator().manual_seed(seed)
        self.raw = torch.randint(0, 255, (n, 16), generator=g, dtype=torch.uint8)
        self.labels = (self.raw.float().mean(1) > 127).long()

    def decode(self, i):
        return self.raw[i].float().numpy() / 255.0

    def __len__(self):
        return len(self.raw)

    def __getitem__(self, i):
        path = os.path.join(self.cache_dir, f"{i}.npy")
        if os.path.exists(path):
            x = np.load(path)
        else:
            x = self.decode(i)
            os.makedirs(self.cache_dir, exist_ok=True)
            np.save(path, x)
        return torch.from_numpy(x), self.labels[i]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    torch.manual_seed(0)
    loader = DataLoader(CachedDataset(), batch_size=32, shuffle=True, num_workers=args.workers)
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        print(f"epoch {epoch}: {loss.item():.4f}")


if __name__ == "__main__":
    main()
