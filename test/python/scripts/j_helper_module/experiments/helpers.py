"""Shared pieces of the experiments: seeding, data and the model."""
import random

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_loader(batch_size, n=768):
    # numpy data (as most tabular pipelines have), drawn from the seeded global numpy RNG
    x = np.random.randn(n, 8).astype(np.float32)
    w = np.random.randn(8).astype(np.float32)
    y = (np.tanh(x @ w) + 0.1 * np.random.randn(n)).astype(np.float32)
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=batch_size, shuffle=True)


class WideMLP(nn.Module):
    def __init__(self, d_in=8, width=128):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x):
        return self.body(x).squeeze(-1)
