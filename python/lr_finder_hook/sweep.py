"""The range test's arithmetic, exactly as the tfjs engine and fastai do it: the LR schedule, fastai's float32
smoothed loss and its stop rule. Pure Python (no torch), so it is testable alone."""
import math
import struct

_F32_MAX = 3.4028234663852886e38
_F32 = struct.Struct("f")


def f32(x):
    """Round a float to float32 (as fastai's torch tensors store it); overflow gives +-inf, NaN stays NaN."""
    if x != x:
        return x
    if abs(x) > _F32_MAX:
        # struct refuses to pack these; values between max and the next float32 round to max or inf as IEEE does
        big = struct.unpack("f", struct.pack("f", math.copysign(_F32_MAX, x)))[0]
        return math.copysign(math.inf, x) if abs(x) >= 3.4028235677973366e38 else big
    return _F32.unpack(_F32.pack(x))[0]


def schedule_lr(i, num_iter, start_lr, end_lr, mode):
    """fastai's SchedExp / SchedLin at pos = i / num_iter (never quite reaching end_lr)."""
    pos = i / num_iter
    if mode == "linear":
        return start_lr + pos * (end_lr - start_lr)
    return start_lr * math.pow(end_lr / start_lr, pos)


class SmoothedLoss:
    """fastai's AvgSmoothLoss: torch.lerp in float32 (a fused multiply-add on CPU), debiased."""

    def __init__(self, beta):
        self.beta = beta
        self.beta32 = f32(beta)
        self.one_minus_beta32 = f32(1 - self.beta32)
        self.val = 0.0
        self.count = 0

    def push(self, loss):
        l = f32(loss)
        self.count += 1
        diff = f32(self.val - l)
        if self.beta32 >= 0.5:
            self.val = f32(self.val - self.one_minus_beta32 * diff)
        else:
            self.val = f32(l + self.beta32 * diff)
        return f32(self.val / f32(1 - math.pow(self.beta, self.count)))


class StopRule:
    """fastai's LRFinder stop: a non-finite loss, the smoothed loss above stop_factor x the best, or num_iter steps.
    `push` returns None to go on, else the end reason."""

    def __init__(self, settings):
        self.num_iter = int(settings["numIter"])
        self.stop_factor = float(settings["stopFactor"])
        self.smoother = SmoothedLoss(float(settings["smoothing"]))
        self.best = math.inf
        self.points = 0

    def push(self, loss):
        self.points += 1
        if not math.isfinite(loss):
            return "non-finite"
        s = self.smoother.push(loss)
        if s < self.best:
            self.best = s
        if s > f32(self.stop_factor * self.best):
            return "diverged"
        if self.points >= self.num_iter:
            return "completed"
        return None
