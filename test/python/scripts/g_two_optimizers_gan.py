"""A tiny GAN learning a ring of eight Gaussians: two networks, two Adam optimizers (discriminator stepped first,
TTUR-style learning rates)."""
import argparse
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

LATENT = 4


def ring_of_gaussians(n=2048, modes=8, radius=2.0, std=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, modes, (n,), generator=g).float()
    angle = 2 * math.pi * k / modes
    centers = radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)
    return centers + std * torch.randn(n, 2, generator=g)


class Generator(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(LATENT, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2))

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=4e-4, help="discriminator LR")
    p.add_argument("--g-lr", type=float, default=1e-4, help="generator LR")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=4)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    data = ring_of_gaussians(seed=args.seed)
    loader = DataLoader(TensorDataset(data), batch_size=args.batch_size, shuffle=True, drop_last=True)
    G, D = Generator(), Discriminator()
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=args.g_lr, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()

    for epoch in range(args.epochs):
        for (real,) in loader:
            ones = torch.ones(len(real), 1)
            zeros = torch.zeros(len(real), 1)
            fake = G(torch.randn(len(real), LATENT))

            opt_d.zero_grad()
            loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
            loss_d.backward()
            opt_d.step()

            opt_g.zero_grad()
            loss_g = bce(D(fake), ones)
            loss_g.backward()
            opt_g.step()
        print(f"epoch {epoch}: D {loss_d.item():.3f}  G {loss_g.item():.3f}")
    torch.save({"G": G.state_dict(), "D": D.state_dict()}, "gan.pt")


if __name__ == "__main__":
    main()
