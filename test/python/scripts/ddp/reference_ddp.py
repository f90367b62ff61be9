"""The hand-written 2-rank range test of train_ddp.py: the same model, data, sampler and seeds, the LR set by hand at
every step (fastai's schedule), each step's loss averaged over the ranks with all_reduce (float64), fastai's stop
rule. Rank 0 writes the curve as JSON to the path in argv[1]. Run under torchrun without the hook."""
import json
import math
import struct
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0] if math.isfinite(x) and abs(x) < 3.4e38 else x


def main():
    out, num_iter, start, end, stop_factor, beta = sys.argv[1], 100, 1e-7, 10.0, 4.0, 0.98
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1024, 8, generator=g); y = (x @ torch.randn(8, 1, generator=g)).squeeze(1)
    ds = TensorDataset(x, y)
    sampler = DistributedSampler(ds, shuffle=True, seed=0)
    loader = DataLoader(ds, batch_size=32, sampler=sampler)
    model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    lrs, losses = [], []
    avg, best, i = 0.0, math.inf, 0
    b32 = f32(beta)
    done = False
    for epoch in range(10):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            lr = start * math.pow(end / start, i / num_iter)
            for grp in opt.param_groups:
                grp["lr"] = lr
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb).squeeze(1), yb)
            loss.backward()
            opt.step()
            t = torch.tensor([float(loss)], dtype=torch.float64)
            dist.all_reduce(t)
            mean = float(t.item()) / dist.get_world_size()
            lrs.append(lr); losses.append(mean)
            i += 1
            if not math.isfinite(mean):
                done = True
                break
            l = f32(mean)
            avg = f32(avg - f32(1 - b32) * f32(avg - l))
            s = f32(avg / f32(1 - math.pow(beta, i)))
            best = min(best, s)
            if s > f32(stop_factor * best) or i >= num_iter:
                done = True
                break
        if done:
            break
    if dist.get_rank() == 0:
        json.dump({"lrs": lrs, "losses": losses}, open(out, "w"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
