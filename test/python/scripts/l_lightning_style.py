"""A LightningModule-style model and a minimal Trainer that optimises it the way PyTorch Lightning's automatic
optimization does: the optimizer is wrapped, and stepped with a closure that runs zero_grad, training_step and
backward."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class LitClassifier(nn.Module):
    def __init__(self, lr=2e-3, hidden=32):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 3))
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.loss_fn(self.net(x), y)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=1e-5)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
        return [optimizer], [scheduler]


class LightningOptimizer:
    """Like pytorch_lightning.core.optimizer.LightningOptimizer: not an Optimizer itself, it delegates."""

    def __init__(self, optimizer):
        self._optimizer = optimizer

    @property
    def param_groups(self):
        return self._optimizer.param_groups

    def step(self, closure=None, **kwargs):
        return self._optimizer.step(closure=closure, **kwargs)


class MiniTrainer:
    def __init__(self, max_epochs=5, gradient_clip_val=None):
        self.max_epochs = max_epochs
        self.gradient_clip_val = gradient_clip_val

    def backward(self, loss):
        loss.backward()

    def fit(self, module, train_dataloader):
        optimizers, schedulers = module.configure_optimizers()
        optimizer = LightningOptimizer(optimizers[0])
        for epoch in range(self.max_epochs):
            module.train()
            for batch_idx, batch in enumerate(train_dataloader):
                outputs = {}

                def closure():
                    optimizers[0].zero_grad()
                    loss = module.training_step(batch, batch_idx)
                    self.backward(loss)
                    if self.gradient_clip_val:
                        nn.utils.clip_grad_norm_(module.parameters(), self.gradient_clip_val)
                    outputs["loss"] = loss.detach()
                    return loss

                optimizer.step(closure=closure)
            for s in schedulers:
                s.step()
            print(f"epoch {epoch}: loss {outputs['loss'].item():.4f}")


def make_data(n=960, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = torch.bucketize(x[:, 0] + 0.5 * x[:, 1] * x[:, 2], torch.tensor([-0.5, 0.5]))
    return x, y


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=31)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    x, y = make_data(seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    model = LitClassifier(lr=args.lr)
    MiniTrainer(max_epochs=args.epochs, gradient_clip_val=0.5).fit(model, loader)


if __name__ == "__main__":
    main()
