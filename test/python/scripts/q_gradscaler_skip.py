"""GradScaler's own step() deciding to skip: on a CPU-only machine GradScaler disables itself, so this script turns
it on and gives it CPU tensors for its scale and its per-optimizer found-inf record, as CUDA's unscale_ would on an
overflow every 5th step. What runs is GradScaler.step's real code path (_maybe_opt_step skipping optimizer.step)."""
import warnings

import torch
from torch import nn
from torch.cuda.amp.grad_scaler import OptState, _refresh_per_optimizer_state
from collections import defaultdict

warnings.simplefilter("ignore")
torch.manual_seed(0)
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = torch.cuda.amp.GradScaler()
scaler._enabled = True
scaler._scale = torch.tensor(1.0)
scaler._growth_tracker = torch.tensor(0, dtype=torch.int32)
g = torch.Generator().manual_seed(1)
for step in range(400):
    x = torch.randn(16, 4, generator=g)
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    overflow = step % 5 == 3
    scaler._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)
    scaler._per_optimizer_states[id(opt)] = {"stage": OptState.UNSCALED,
                                             "found_inf_per_device": {torch.device("cpu"): torch.tensor([1.0 if overflow else 0.0])}}
    scaler.step(opt)
    print("%d %r %.17g" % (step, overflow, loss.item()))
