"""Fine-tune a "pretrained" feature extractor with a new head: discriminative learning rates (backbone 1e-4,
head 1e-3) and no weight decay on biases."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Backbone(nn.Module):
    def __init__(self, d_in=20, width=48):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.out_features = width

    def forward(self, x):
        return self.layers(x)


class Classifier(nn.Module):
    def __init__(self, backbone, n_classes):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(backbone.out_features, n_classes))

    def forward(self, x):
        return self.head(self.backbone(x))


def make_task(n=1024, d_in=20, n_classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    proj = torch.randn(d_in, n_classes, generator=g)
    x = torch.randn(n, d_in, generator=g)
    y = (x @ proj + 0.5 * torch.randn(n, n_classes, generator=g)).argmax(1)
    return x, y


def param_groups(model, lr, backbone_lr, weight_decay):
    decay, no_decay = [], []
    for name, p in model.head.named_parameters():
        (no_decay if name.endswith("bias") else decay).append(p)
    return [
        {"params": model.backbone.parameters(), "lr": backbone_lr, "weight_decay": weight_decay},
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lr", type=float, default=1e-3, help="head LR")
    p.add_argument("--backbone-lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=2)
    return p.parse_args(argv)


def build(args):
    torch.manual_seed(args.seed)
    x, y = make_task(seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    backbone = Backbone()
    # stands in for torch.load("backbone.pt"): a fixed "pretrained" initialisation
    with torch.no_grad():
        for p in backbone.parameters():
            p.mul_(1.5)
    model = Classifier(backbone, n_classes=4)
    return model, loader


def main():
    args = parse_args()
    model, loader = build(args)
    optimizer = torch.optim.Adam(param_groups(model, args.lr, args.backbone_lr, args.weight_decay), lr=args.lr)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(args.epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: loss {loss.item():.4f} lrs {[g['lr'] for g in optimizer.param_groups]}")
    torch.save(model.state_dict(), "finetuned.pt")


if __name__ == "__main__":
    main()
