"""Iris with a small Trainer class: a metrics CSV, a log file, a checkpoint every epoch, the best model kept,
resumable (--resume), and a checkpoint written on the way out whatever happens."""
import argparse
import csv
import logging
import os
import shutil

import torch
from torch import nn

from a_plain_steplr import MLP, SPECIES, load_iris, train_val_split

log = logging.getLogger("trainer")


class Trainer:
    def __init__(self, model, optimizer, scheduler, data, batch_size, out_dir="checkpoints",
                 metrics_path="metrics.csv"):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        (self.x_train, self.y_train), (self.x_val, self.y_val) = data
        self.batch_size = batch_size
        self.out_dir = out_dir
        self.metrics_path = metrics_path
        self.criterion = nn.CrossEntropyLoss()
        self.epoch = 0
        self.best_val = float("inf")

    def state(self):
        return {"epoch": self.epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "best_val": self.best_val}

    def save_checkpoint(self, name):
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, name)
        torch.save(self.state(), path + ".tmp")
        if os.path.exists(path + ".tmp"):
            os.replace(path + ".tmp", path)
        return path

    def resume(self, path):
        state = torch.load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.best_val = state["epoch"], state["best_val"]

    def train_epoch(self):
        self.model.train()
        perm = torch.randperm(len(self.x_train))
        total = 0.0
        for start in range(0, len(perm), self.batch_size):
            idx = perm[start:start + self.batch_size]
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(self.x_train[idx]), self.y_train[idx])
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(idx)
        return total / len(perm)

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        return self.criterion(self.model(self.x_val), self.y_val).item()

    def fit(self, epochs):
        new_file = not os.path.exists(self.metrics_path)
        with open(self.metrics_path, "a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(["epoch", "train_loss", "val_loss", "lr"])
            while self.epoch < epochs:
                train_loss = self.train_epoch()
                val_loss = self.validate()
                self.scheduler.step(val_loss)
                self.epoch += 1
                writer.writerow([self.epoch, f"{train_loss:.5f}", f"{val_loss:.5f}",
                                 self.optimizer.param_groups[0]["lr"]])
                f.flush()
                last = self.save_checkpoint("last.pt")
                if val_loss < self.best_val:
                    self.best_val = val_loss
                    if os.path.exists(last):
                        shutil.copyfile(last, os.path.join(self.out_dir, "best.pt"))
                    torch.save(self.model.state_dict(), "best_model.pt")
                log.info("epoch %d train %.4f val %.4f", self.epoch, train_loss, val_loss)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="data/iris.csv")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--resume", default=None, help="checkpoint to resume from")
    p.add_argument("--log-file", default="train.log")
    return p.parse_args(argv)


def build(args):
    torch.manual_seed(args.seed)
    x, y = load_iris(args.data)
    data = train_val_split(x, y, seed=args.seed)
    model = MLP(4, 16, len(SPECIES))
    return model, data


def main():
    args = parse_args()
    logging.basicConfig(filename=args.log_file, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    model, data = build(args)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    trainer = Trainer(model, optimizer, scheduler, data, args.batch_size)
    if args.resume:
        trainer.resume(args.resume)
        log.info("resumed from %s at epoch %d", args.resume, trainer.epoch)
    try:
        trainer.fit(args.epochs)
    finally:
        trainer.save_checkpoint("final.pt")
        log.info("done")


if __name__ == "__main__":
    main()
