"""Verify mode (docs/script-engine.md, "Verify mode"): one short one-cycle training of the script at a given max LR,
scored on held-out data. The request's `verify` field turns it on; everything else (install, journal, optimizer
wrapping, the loss from backward, errors) is the sweep's machinery (torch_patch.py), which asks this module for the
LR of a step, what to do after a step, and whether a step is a no-op.

- Training: steps 0..N-1 at the one-cycle LR of t/N (groups keep their ratio to the largest constructed LR); a
  non-finite training loss stops the run (diverged).
- Held-out data: every map-style DataLoader's iterator leaves out a fixed, seeded subset of its dataset's indices
  (`_BaseDataLoaderIter._next_index`, which runs in the main process for both iterators). After step N-1 the training
  dataset's iterators yield those held-out indices instead (at most evalBatches batches, then the epoch ends); the
  script's loop goes on, every optimizer step is a no-op, and the loss that goes through backward on a held-out batch
  is recorded. A FIFO per iterator (filled in `_next_index`, emptied in `__next__`) says which returned batch is
  held-out, so that batches prefetched by workers are attributed to the right phase.
- No map-style DataLoader (manual slicing, an IterableDataset): the score is the mean training loss of the last 10%
  of the steps ("signal": "training") and the run ends after step N-1.
"""
import collections
import math
import numbers
import random
import time

from .protocol import wire

# -- the one-cycle schedule ---------------------------------------------------------------------------------------------
# Mirrors src/core/oneCycle.ts `oneCycleLr(maxLr, t, FASTAI_ONE_CYCLE)` exactly (the same operations in the same order):
# a cosine warm-up from maxLr/div to maxLr over the first pctStart of training (t <= pctStart), then a cosine
# annealing to maxLr/divFinal. Keep the two in step.
FASTAI_PCT_START = 0.25
FASTAI_DIV = 25.0
FASTAI_DIV_FINAL = 1e5


def _cosine(start, end, pos):
    return start + ((1 + math.cos(math.pi * (1 - pos))) * (end - start)) / 2


def one_cycle_lr(max_lr, t, pct_start=FASTAI_PCT_START, div=FASTAI_DIV, div_final=FASTAI_DIV_FINAL):
    """LR at fraction `t` (0..1) of training (fastai's fit_one_cycle)."""
    start, end = max_lr / div, max_lr / div_final
    if t <= pct_start:
        return _cosine(start, max_lr, t / pct_start if pct_start > 0 else 1)
    return _cosine(max_lr, end, (t - pct_start) / (1 - pct_start))


def heldout_indices(n, holdout):
    """The held-out indices of a dataset of length n: a seeded choice of round(holdout x n) of them (at least 1, and
    at least one left to train on), sorted. The same for every candidate and every seed."""
    if n <= 1:
        return []
    k = min(max(1, int(round(holdout * n))), n - 1)
    return sorted(random.Random(n * 7919 + 17).sample(range(n), k))


def tail_count(steps):
    """How many of the last steps make "the last 10% of the training steps": round(steps / 10), at least 1."""
    return max(1, (steps + 5) // 10)


TRAIN, EVAL = "train", "eval"


class Flag:
    """What a batch an iterator returns is: its dataset (key None: not a map-style DataLoader), held-out or not, its
    number of samples, a serial number."""
    __slots__ = ("key", "held", "n", "serial")

    def __init__(self, key, held, n, serial):
        self.key, self.held, self.n, self.serial = key, held, n, serial


NO_DATASET = Flag(None, False, 0, -1)


class Held:
    """A dataset's held-out indices, and how its sampler gives indices ("list": batches of ints; "int": one int;
    "bad": something else, e.g. tensors or keys, which is not filtered)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset  # keeps it alive, so that its id stays its own
        self.indices = indices
        self.set = frozenset(indices)
        self.mode = None
        self.largest = 0  # the largest training batch seen (before filtering)
        self.size = None  # eval phase: the held-out batch size, the number of batches, the next one
        self.planned = None
        self.cursor = 0

    @property
    def usable(self):
        return bool(self.indices) and self.mode in ("list", "int")


def _int_like(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def parse_request(spec):
    """The request's verify field -> (settings, None) or (None, message)."""
    if not isinstance(spec, dict):
        return None, "the request's verify field is not an object: %r" % (spec,)
    try:
        lr = float(spec.get("lr"))
        steps = spec.get("steps")
        if isinstance(steps, float) and steps.is_integer():
            steps = int(steps)
        holdout = float(0.2 if spec.get("holdout") is None else spec["holdout"])
        eval_batches = 50 if spec.get("evalBatches") is None else int(spec["evalBatches"])
    except (TypeError, ValueError):
        return None, "the request's verify field is malformed: %r" % (spec,)
    if not (math.isfinite(lr) and lr > 0):
        return None, "verify.lr must be a positive number, not %r" % (spec.get("lr"),)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        return None, "verify.steps must be a positive integer, not %r" % (spec.get("steps"),)
    if not 0 < holdout < 1:
        return None, "verify.holdout must be between 0 and 1 (exclusive), not %r" % (spec.get("holdout"),)
    if eval_batches < 1:
        return None, "verify.evalBatches must be at least 1, not %r" % (spec.get("evalBatches"),)
    return {"lr": lr, "steps": steps, "holdout": holdout, "evalBatches": eval_batches}, None


class Verify:
    """The state of one verify candidate. One instance, `STATE.verify` (None in a range test)."""

    def __init__(self, settings, seed):
        self.lr = settings["lr"]
        self.steps = settings["steps"]
        self.holdout = settings["holdout"]
        self.eval_batches = settings["evalBatches"]
        self.seed = seed
        self.phase = TRAIN
        self.losses = []  # the training loss of every step
        self.step_keys = []  # per training step: the dataset of the last batch returned since the previous step
        self.since_step = None  # the last batch returned since the previous training step
        self.current = None  # the last batch returned (the one the script is working on)
        self.datasets = {}  # id(dataset) -> Held
        self.serial = 0
        self.train_key = None  # the training dataset (eval phase)
        self.scores = collections.OrderedDict()  # held-out batch serial -> [loss, samples]
        self.candidate_sent = False

    # -- the training phase -------------------------------------------------------------------------------------------

    def lr_at(self, i):
        return one_cycle_lr(self.lr, min(i, self.steps - 1) / self.steps)

    def after_step(self, st, loss):
        """After training step st.counted - 1 (its point sent): None to go on, else the end reason."""
        self.losses.append(loss)
        flag = self.since_step
        self.step_keys.append(flag.key if flag is not None else None)
        self.since_step = None
        if not math.isfinite(loss):
            self.send_candidate(st, diverged=True)
            return "diverged"
        if st.counted < self.steps:
            return None
        key = self._training_dataset()
        if key is None:
            self.send_candidate(st)  # no held-out data: the training loss is the score
            return "completed"
        self.train_key = key
        self.phase = EVAL
        self.current = None
        return None

    def _training_dataset(self):
        """The dataset most training steps drew their batch from, if it has held-out data; else None."""
        if not self.step_keys:
            return None
        key = collections.Counter(self.step_keys).most_common(1)[0][0]
        held = self.datasets.get(key) if key is not None else None
        return key if held is not None and held.usable else None

    # -- held-out data ------------------------------------------------------------------------------------------------

    def held_for(self, dataset):
        key = id(dataset)
        h = self.datasets.get(key)
        if h is None or h.dataset is not dataset:
            try:
                n = len(dataset)
            except Exception:
                n = 0
            h = Held(dataset, heldout_indices(n, self.holdout) if isinstance(n, int) else [])
            if not h.indices:
                h.mode = "bad"
            self.datasets[key] = h
        return h

    def next_serial(self):
        self.serial += 1
        return self.serial

    def filter_training(self, h, idx):
        """A training batch of indices minus the held-out ones -> (indices, samples), or None when none is left."""
        if h.mode is None:
            if isinstance(idx, (list, tuple)) and idx and all(_int_like(i) for i in idx):
                h.mode = "list"
            elif _int_like(idx):
                h.mode = "int"
            else:
                h.mode = "bad"
        if h.mode == "list":
            if not isinstance(idx, (list, tuple)) or not idx or not _int_like(idx[0]):
                return idx, _samples(idx)
            if len(idx) > h.largest:
                h.largest = len(idx)
            s = h.set
            kept = [i for i in idx if i not in s]
            if not kept:
                return None
            return kept, len(kept)
        if h.mode == "int":
            if _int_like(idx) and idx in h.set:
                return None
            return idx, 1
        return idx, _samples(idx)

    def eval_batch(self, it, h):
        """The next held-out batch of the training dataset in the eval phase -> (indices, samples); raises
        StopIteration once evalBatches batches (or all held-out indices) have been given. The cursor is the
        dataset's, not the iterator's: a loop that breaks out of an epoch goes on with the next held-out batch."""
        if h.planned is None:
            if h.mode == "int":
                size = 1
            else:
                size = getattr(it._index_sampler, "batch_size", None) if it._auto_collation else None
                if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                    size = h.largest or 1
            h.size = size
            h.planned = min(self.eval_batches, -(-len(h.indices) // size))
        c = h.cursor
        if c >= h.planned:
            raise StopIteration
        h.cursor = c + 1
        chunk = h.indices[c * h.size:(c + 1) * h.size]
        return (chunk[0] if h.mode == "int" else list(chunk)), len(chunk)

    def record_eval(self, value):
        """A scalar that went through backward in the eval phase: counted when the current batch is held-out."""
        f = self.current
        if f is None or not f.held or f.key != self.train_key:
            return
        s = self.scores.get(f.serial)
        if s is None:
            self.scores[f.serial] = [value, f.n]
        else:
            s[0] += value  # several backward calls on one batch: their sum, as a sweep step's loss

    # -- the candidate ------------------------------------------------------------------------------------------------

    def send_candidate(self, st, diverged=False):
        if self.candidate_sent:
            return
        self.candidate_sent = True
        steps = len(self.losses)
        tail = self.losses[-tail_count(steps):] if steps else []
        train = sum(tail) / len(tail) if tail else math.nan
        rows = sum(n for _, n in self.scores.values())
        if diverged:
            loss = math.inf
            signal = "held-out" if self._training_dataset() is not None else "training"
        elif self.phase == EVAL:
            total = 0.0
            for value, n in self.scores.values():
                total += value * n
            loss = total / rows if rows else math.nan
            signal = "held-out"
        else:
            loss = train
            signal = "training"
        st.send({"type": "candidate", "lr": self.lr, "seed": self.seed, "steps": steps, "loss": wire(loss),
                 "trainLoss": wire(train), "diverged": bool(diverged), "signal": signal,
                 "rows": rows if signal == "held-out" and not diverged else 0,
                 "batches": len(self.scores) if signal == "held-out" and not diverged else 0,
                 "seconds": round(time.time() - st.t0, 3)})

    def complete(self, st):
        """The held-out batches are scored: the candidate, then the end."""
        self.send_candidate(st)
        st.end("completed")

    def at_exit(self, st):
        """The script ended by itself (finish()). In the eval phase with batches scored, that is the end of the run;
        without any, an error. In the training phase the sweep's diagnosis (diagnose.early_end) says why."""
        if self.phase != EVAL or st.exception is not None:
            return
        if self.scores:
            self.complete(st)
            return
        from .diagnose import verify_no_heldout

        code, message = verify_no_heldout(st)
        st.fail(code, message)


def _samples(idx):
    if isinstance(idx, (list, tuple)):
        return len(idx)
    return 1


# -- the DataLoader patches -------------------------------------------------------------------------------------------

def patch_dataloader(torch, st, stop):
    """Installed only in verify mode: training batches leave the held-out indices out; after the training steps the
    training dataset's iterators yield the held-out batches. `stop` is SweepStop."""
    try:
        dl = torch.utils.data.dataloader
        Base = dl._BaseDataLoaderIter
        MAP = dl._DatasetKind.Map
    except AttributeError:
        return
    if getattr(Base, "_lrf_verify_patched", False):
        return
    Base._lrf_verify_patched = True
    original_next_index = Base._next_index
    original_next = Base.__next__
    original_reset = Base._reset

    def _fifo(it):
        f = it.__dict__.get("_lrf_fifo")
        if f is None:
            f = it.__dict__["_lrf_fifo"] = collections.deque()
        return f

    def _next_index(self):
        v = st.verify
        if v is None or not st.active or self._dataset_kind != MAP:
            return original_next_index(self)
        h = v.held_for(self._dataset)
        key = id(self._dataset)
        if v.phase == EVAL and key == v.train_key and h.usable:
            idx, n = v.eval_batch(self, h)  # may raise StopIteration: the held-out pass is over
            _fifo(self).append(Flag(key, True, n, v.next_serial()))
            return idx
        while True:
            idx = original_next_index(self)  # may raise StopIteration
            kept = v.filter_training(h, idx)
            if kept is not None:
                break
        _fifo(self).append(Flag(key, False, kept[1], v.next_serial()))
        return kept[0]

    def __next__(self):
        v = st.verify
        if v is None or not st.active:
            return original_next(self)
        try:
            data = original_next(self)
        except StopIteration:
            f = self.__dict__.get("_lrf_fifo")
            if f:
                f.clear()
            # An iterator of the training dataset ends in the eval phase, held-out batches scored: the held-out pass
            # is over (another iterator at its epoch's end, with none scored yet, is just an epoch's end).
            done = (v.phase == EVAL and v.scores and self._dataset_kind == MAP and id(self._dataset) == v.train_key
                    and not st.ended and st.error is None)
            if not done:
                raise
        else:
            if self._dataset_kind != MAP:
                flag = NO_DATASET
            else:
                f = self.__dict__.get("_lrf_fifo")
                flag = f.popleft() if f else NO_DATASET
            v.current = v.since_step = flag
            return data
        # The held-out pass of the training dataset is over and scored: the candidate is done.
        v.complete(st)
        raise stop(0)

    def _reset(self, *args, **kwargs):
        f = self.__dict__.get("_lrf_fifo")
        if f:
            f.clear()  # a new pass (persistent workers): what was in flight is dropped
        return original_reset(self, *args, **kwargs)

    Base._next_index = _next_index
    Base.__next__ = __next__
    Base._reset = _reset
