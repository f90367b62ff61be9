"""DDP training as users write it for Slurm: no torchrun; each srun task takes its rank and the world size from
SLURM_PROCID/SLURM_NTASKS and joins a gloo process group at MASTER_ADDR:MASTER_PORT (set in the job script, or
defaults here). Run alone (no Slurm, one task) it trains without a process group."""
import argparse
import os
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--load-seconds", type=float, default=0, help="a slow start (loading data) before training")
    a = p.parse_args()
    time.sleep(a.load_seconds)
    rank = int(os.environ.get("SLURM_PROCID", "0"))
    world = int(os.environ.get("SLURM_NTASKS", "1"))
    if world > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        # One port per job, so that two jobs on one node do not meet.
        os.environ.setdefault("MASTER_PORT", str(20000 + int(os.environ.get("SLURM_JOB_ID", "0")) % 20000))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1024, 8, generator=g)
    y = (x @ torch.randn(8, 1, generator=g)).squeeze(1)
    ds = TensorDataset(x, y)
    sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(ds, batch_size=32, sampler=sampler)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    for epoch in range(a.epochs):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb).squeeze(1), yb)
            loss.backward()
            opt.step()
        if rank == 0:
            print("epoch", epoch, loss.item(), flush=True)
            torch.save(model.state_dict(), "slurm.pt")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
