#!/usr/bin/env python3
"""Train one task of the PyTorch outcome benchmark the way a practitioner's script does.

A Dataset and a shuffled DataLoader (drop_last) over the task's training rows only, the task's model, optimizer, loss
and batch size exactly as quality.py builds them (imported from it: one owner), OneCycleLR stepped after every batch
as quality.py trains it, validation on the task's validation rows under torch.no_grad() after every epoch, and the
model saved at the end. LR Finder runs it unchanged (`lr-finder run bench/torch-quality/task_script.py -- --task NAME`).

  /usr/bin/python3 bench/torch-quality/task_script.py --task iris-logreg-sgd-b4 --lr 4.5 [--epochs E] [--seed S]

Its last line is `final val_loss=X ...`. --epochs defaults to the benchmark's (whole epochs, about 400 steps).
"""
import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import quality as Q  # noqa: E402  (the tasks; sets the BLAS thread count before numpy and torch load)

import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402


class Rows(Dataset):
    """One task's rows: features (float32) and targets (class indices, or standardised values)."""

    def __init__(self, x, y):
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=sorted(Q.ALL_TASKS), metavar="NAME", help="a task of quality.py")
    p.add_argument("--lr", type=float, default=1e-3, help="max LR of the one-cycle schedule")
    p.add_argument("--epochs", type=int, default=None, help="default: the benchmark's (about 400 steps)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="where the model is saved (default: checkpoints/TASK.pt next to this "
                                               "script; '' to skip)")
    return p.parse_args()


@torch.no_grad()
def evaluate(model, loader, loss_fn):
    model.eval()
    total, n = 0.0, 0
    for x, y in loader:
        total += float(loss_fn(model(x), y)) * len(y)  # the task's loss is a batch mean
        n += len(y)
    model.train()
    return total / n


def main():
    args = parse_args()
    task = Q.ALL_TASKS[args.task]
    Q._torch()  # one thread, as in the benchmark's workers
    torch.manual_seed(args.seed)
    d = Q.load_data(task["data"])
    train_loader = DataLoader(Rows(d["xtr"], d["ytr"]), batch_size=task["batch"], shuffle=True, drop_last=True)
    val_loader = DataLoader(Rows(d["xva"], d["yva"]), batch_size=256)
    model = Q.build_model(task["model"], d["xtr"].shape[1], Q.n_outputs(task, d))
    optimizer = Q.build_optimizer(task["opt"], model.parameters(), args.lr)
    loss_fn = Q.loss_fn(task["loss"])
    epochs = args.epochs or Q.epochs_for(task)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=epochs, steps_per_epoch=len(train_loader),
        cycle_momentum=task["cycle_momentum"], **Q.ONE_CYCLE)

    print(f"{args.task}: {len(train_loader.dataset)} training rows, {len(val_loader.dataset)} validation rows, "
          f"{epochs} epochs of {len(train_loader)} steps, max LR {args.lr:g}", flush=True)
    t0 = time.time()
    model.train()
    val_loss = math.nan
    for epoch in range(epochs):
        running, batches = 0.0, 0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
            batches += 1
        val_loss = evaluate(model, val_loader, loss_fn)
        print(f"epoch {epoch + 1}/{epochs}  train_loss {running / max(1, batches):.4f}  val_loss {val_loss:.4f}  "
              f"lr {scheduler.get_last_lr()[0]:.3g}", flush=True)

    out = args.out if args.out is not None else os.path.join(HERE, "checkpoints", f"{args.task}.pt")
    if out:
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        torch.save({"task": args.task, "lr": args.lr, "epochs": epochs, "model": model.state_dict()}, out)
    print(f"final val_loss={val_loss:.6g} epochs={epochs} seconds={time.time() - t0:.1f}"
          + (f" saved={out}" if out else ""), flush=True)


if __name__ == "__main__":
    main()
