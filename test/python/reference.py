"""A hand-written learning-rate range test, independent of the hook, for the fidelity tests.

`RangeTest` is fastai's lr_find written out by hand: before step i every param group's LR is set to
lr_i * (the group's LR as constructed) / (the largest constructed LR of all groups of all optimizers), with
lr_i = startLr * (endLr / startLr) ** (i / numIter) (or the linear schedule); the loss of step i is recorded; the
sweep stops at a non-finite loss, when fastai's smoothed loss (AvgSmoothLoss: torch.lerp in float32, debiased)
exceeds stopFactor x the best smoothed loss so far (that point stays recorded), or after numIter points.

The training loop around it is written by the test, with the script's own model and data builders, so the only
difference from running the script is the absence of its scheduler, checkpoints and logs.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import sys
from pathlib import Path

import torch

SCRIPTS = Path(__file__).resolve().parent / "scripts"


class _Stop(Exception):
    pass


class RangeTest:
    def __init__(self, optimizers, startLr=1e-7, endLr=10, numIter=100, mode="exponential", stopFactor=4,
                 smoothing=0.98, **_other):
        self.groups = [g for opt in optimizers for g in opt.param_groups]
        self.initial = [g["lr"] for g in self.groups]
        self.max_lr = max(self.initial)
        self.start, self.end, self.num_iter, self.mode = startLr, endLr, numIter, mode
        self.stop_factor, self.beta = stopFactor, smoothing
        self.points: list = []
        self.reason = None
        self._val = torch.tensor(0.0)
        self._best = math.inf
        self._stopped = False

    @property
    def i(self) -> int:
        return len(self.points)

    def lr(self, i: int) -> float:
        pos = i / self.num_iter
        if self.mode == "linear":
            return self.start + pos * (self.end - self.start)
        return self.start * (self.end / self.start) ** pos

    def set_lr(self) -> float:
        """Before the step: every group's LR for this step."""
        lr = self.lr(self.i)
        for g, g0 in zip(self.groups, self.initial):
            g["lr"] = lr * g0 / self.max_lr
        return lr

    def record(self, loss) -> None:
        """After the step: record its loss; raises to leave the training loop when the sweep is over."""
        loss = float(loss)
        self.points.append({"iteration": self.i, "lr": self.lr(self.i), "loss": loss})
        if not math.isfinite(loss):
            self._finish("non-finite")
        # fastai's AvgSmoothLoss and LRFinder.after_batch, in float32 as fastai computes them
        self._val = torch.lerp(torch.tensor(loss, dtype=torch.float32), self._val, self.beta)
        smooth = self._val / (1 - self.beta ** len(self.points))
        if smooth < self._best:
            self._best = smooth
        if smooth > self.stop_factor * self._best:
            self._finish("diverged")
        if len(self.points) >= self.num_iter:
            self._finish("completed")

    def _finish(self, reason: str) -> None:
        self.reason = reason
        self._stopped = True
        raise _Stop()

    @contextlib.contextmanager
    def running(self):
        """Wrap the training loop: a stop leaves it; a loop that ends first leaves reason 'ended-early'."""
        try:
            yield self
        except _Stop:
            pass
        if self.reason is None:
            self.reason = "ended-early"

    @property
    def lrs(self):
        return [p["lr"] for p in self.points]

    @property
    def losses(self):
        return [p["loss"] for p in self.points]


_loaded: dict = {}


def load_script(relpath, module: str | None = None):
    """Import a test script (relative to scripts/, or a Path) or, with `module`, a module of a package under
    `relpath`, without running its main, from the source folder (never from a workspace), writing no bytecode."""
    key = (str(relpath), module)
    if key in _loaded:
        return _loaded[key]
    sys.dont_write_bytecode = True
    path = relpath if isinstance(relpath, Path) else SCRIPTS / relpath
    relpath = str(path.relative_to(SCRIPTS)) if path.is_relative_to(SCRIPTS) else path.parent.name + "/" + path.name
    folder = str(path if module else path.parent)
    sys.path.insert(0, folder)
    try:
        if module:
            mod = importlib.import_module(module)
        else:
            name = "lrf_script_" + relpath.replace("/", "_").replace(".py", "").replace("-", "_")
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
    finally:
        sys.path.remove(folder)
    _loaded[key] = mod
    return mod
