"""Gradient accumulation the way Hugging Face Accelerate does it: the optimizer is wrapped in a subclass of
torch.optim.Optimizer that never calls super().__init__, forwards param_groups/state to the real optimizer, and
skips the real step (and zero_grad) on micro-batches that do not synchronise gradients."""
import argparse
import contextlib

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class GradientState:
    def __init__(self, accumulation_steps):
        self.accumulation_steps = accumulation_steps
        self.step = 0
        self.sync_gradients = True


class AcceleratedOptimizer(torch.optim.Optimizer):
    def __init__(self, optimizer, gradient_state):  # deliberately no super().__init__(), as in accelerate
        self.optimizer = optimizer
        self.gradient_state = gradient_state

    @property
    def state(self):
        return self.optimizer.state

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def defaults(self):
        return self.optimizer.defaults

    def zero_grad(self, set_to_none=None):
        if self.gradient_state.sync_gradients:
            self.optimizer.zero_grad(set_to_none=bool(set_to_none))

    def step(self, closure=None):
        if self.gradient_state.sync_gradients:
            self.optimizer.step(closure)


class Accelerator:
    def __init__(self, gradient_accumulation_steps=1):
        self.gradient_state = GradientState(gradient_accumulation_steps)

    def prepare(self, optimizer):
        return AcceleratedOptimizer(optimizer, self.gradient_state)

    @contextlib.contextmanager
    def accumulate(self):
        gs = self.gradient_state
        gs.step += 1
        gs.sync_gradients = gs.step % gs.accumulation_steps == 0
        yield

    def backward(self, loss):
        (loss / self.gradient_state.accumulation_steps).backward()


def make_data(n=1024, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 12, generator=g)
    y = (x[:, :4].sum(1, keepdim=True) > 0).float()
    return x, y


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--gradient-accumulation-steps", type=int, default=4)
    p.add_argument("--seed", type=int, default=8)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_data(seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 1))
    accelerator = Accelerator(gradient_accumulation_steps=args.gradient_accumulation_steps)
    optimizer = accelerator.prepare(torch.optim.AdamW(model.parameters(), lr=args.lr))
    criterion = nn.BCEWithLogitsLoss()
    for epoch in range(args.epochs):
        for xb, yb in loader:
            with accelerator.accumulate():
                loss = criterion(model(xb), yb)
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
        print(f"epoch {epoch}: loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
