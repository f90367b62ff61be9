"""The torch side of the hook, installed when the script imports torch.

- `Optimizer.__init__` registers each optimizer: its groups' LRs as constructed and every other hyperparameter,
  frozen at that value; and wraps the optimizer class's `step` (once per class).
- The outermost `step` sets each group's LR for this sweep step (its ratio to the largest constructed LR kept), puts
  the frozen hyperparameters back, runs the step, records the point and applies the stop rule.
- `torch.autograd.backward` (which `Tensor.backward` calls) collects the scalar losses; `GradScaler.scale` marks its
  output with its scale so that the recorded loss is unscaled; `GradScaler.step` counts skipped steps.
- `torch.save` to a path is blocked; `torch.load` of a file in the workspace is refused unless allowed.
"""
import errno
import functools
import importlib.abc
import os
import sys

from . import verify
from .protocol import wire

seed_offset = 0
_STATE = None
_WRAPPED = "_lr_finder_wrapped"
_SCALE = "_lr_finder_scale"


SweepStop = force_exit = hello = None  # From the package, bound at install (the package imports this module)


def install(state):
    global _STATE, SweepStop, force_exit, hello
    from . import SweepStop, force_exit, hello  # noqa: F811

    _STATE = state
    if "torch" in sys.modules and hasattr(sys.modules["torch"], "optim"):
        _patch_torch(sys.modules["torch"])
    else:
        sys.meta_path.insert(0, _TorchWatcher())
    if "numpy" in sys.modules:
        _patch_numpy(sys.modules["numpy"])


class _TorchWatcher(importlib.abc.MetaPathFinder):
    """Patches torch (and numpy's seed) right after the script imports them; costs nothing until then."""

    def find_spec(self, name, path=None, target=None):
        if name not in ("torch", "numpy"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module):
            original(module)
            try:
                if name == "torch":
                    _patch_torch(module)
                else:
                    _patch_numpy(module)
            except Exception as e:  # never break the script's import
                sys.stderr.write("LR Finder: could not hook %s: %r\n" % (name, e))

        loader.exec_module = exec_module
        return spec


# -- registering optimizers --------------------------------------------------------------------------------------------

class Registered:
    def __init__(self, opt):
        self.opt = opt
        self.cls = type(opt)
        self.initial = [_as_float(g.get("lr")) for g in opt.param_groups]
        self.frozen = [_hyper(g) for g in opt.param_groups]
        self.max_lr = [None] * len(opt.param_groups)
        self.ratios = None
        self.alias_of = None  # Another registered optimizer with the same param groups (Lookahead-style wrappers)


def _as_float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _hyper(group):
    """The hyperparameters to hold at their constructed values: numbers and tuples (momentum, betas, weight decay,
    eps...). Flags (foreach, fused, maximize...) are no scheduler's business and are not checked at every step."""
    return [(k, v) for k, v in group.items()
            if k not in ("params", "lr", "initial_lr", "max_lr", "min_lr") and not isinstance(v, bool) and v is not None]


def _register(opt):
    st = _STATE
    if st is None or not st.active:
        return
    for r in st.optimizers:
        if r.opt is opt:
            return
    rec = Registered(opt)
    ids = [id(g) for g in opt.param_groups]
    for r in st.optimizers:
        if [id(g) for g in r.opt.param_groups] == ids:
            rec.alias_of = r
    st.optimizers.append(rec)
    _wrap_step(type(opt))


def _find(opt):
    for r in _STATE.optimizers:
        if r.opt is opt:
            return r
    return None


def _wrap_step(cls):
    owner = next((c for c in cls.__mro__ if "step" in c.__dict__), None)
    if owner is None or getattr(owner.__dict__["step"], _WRAPPED, False):
        return
    original = owner.__dict__["step"]

    @functools.wraps(original)
    def step(self, *args, **kwargs):
        st = _STATE
        if st is None or not st.active:
            return original(self, *args, **kwargs)
        if st.depth > 0:
            st.depth += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                st.depth -= 1
        rec = _find(self)
        if st.verify is not None and st.verify.phase == verify.EVAL:
            return _noop_step(st, args, kwargs)  # Verify's held-out evaluation: no step updates anything.
        if rec is None:  # An instance that never ran Optimizer.__init__: only its inner optimizer counts.
            return original(self, *args, **kwargs)
        return _outer_step(st, rec, original, self, args, kwargs)

    setattr(step, _WRAPPED, True)
    setattr(owner, "step", step)


def _outer_step(st, rec, original, opt, args, kwargs):
    if st.ended or st.error is not None or st.cancel_requested:
        force_exit()  # The script caught our stop (or the cancel) and went on training.
    if rec.alias_of is not None:
        rec = rec.alias_of
    first = st.primary is None
    if first:
        st.primary = rec
        lrs = [lr for r in st.optimizers for lr in r.initial if lr]
        st.ref_lr = max(lrs) if lrs else 1.0
    if not st.hello_sent:
        for r in st.optimizers:
            _observe_max_lr(r)
        hello(st)
    if rec is not st.primary:
        # Another optimizer stepping again and again while the first one no longer does: the script built a new one
        # (a second training phase). The sweep goes on with it.
        st.other_count = st.other_count + 1 if st.other is rec else 1
        st.other = rec
        if st.other_count >= 2 and rec.alias_of is None:
            st.notes.append("The script built a new optimizer (%s) after %d steps and stopped stepping %s: the sweep "
                            "went on with %s." % (rec.cls.__name__, st.counted, st.primary.cls.__name__, rec.cls.__name__))
            st.primary = rec
            lrs = [lr for lr in rec.initial if lr]
            st.ref_lr = max(lrs) if lrs else st.ref_lr
            st.pending = st.pending[st.pending_mark:]
    else:
        st.other, st.other_count = None, 0
    primary = rec is st.primary
    i = st.index if primary else max(0, st.index - 1)
    lr = st.lr_at(i)
    _set_groups(st, rec, lr)
    st.in_step = None
    st.depth = 1
    try:
        result = original(opt, *args, **kwargs)
    finally:
        st.depth = 0
    st.pending_mark = len(st.pending)
    if not primary:
        return result
    losses = st.pending
    st.pending = []
    st.pending_mark = 0
    if st.in_step is not None:
        losses.append(st.in_step)
    st.in_step = None
    if not losses:
        st.fail("no-loss", "optimizer.step() ran, but no scalar loss went through loss.backward() before it, so "
                "there is no loss to record. LR Finder reads the loss from loss.backward() (or "
                "torch.autograd.backward); scripts that compute gradients with torch.autograd.grad or write "
                "p.grad by hand are not supported.")
        raise SweepStop(0)
    loss = _loss_value(losses)
    if st.world > 1:
        loss = _mean_over_ranks(loss, rec)
    st.index += 1
    st.counted += 1
    if st.verify is not None:
        lr = _as_float(rec.opt.param_groups[0]["lr"])  # Verify's point: the LR of group 0 at this step
    # The first point goes at once (the front end starts drawing); the others in batches of a few ms.
    st.send({"type": "point", "iteration": i, "lr": lr, "loss": wire(loss)}, urgent=st.counted == 1)
    reason = st.stop_rule.push(loss) if st.verify is None else st.verify.after_step(st, loss)
    if reason:
        st.end(reason)
        raise SweepStop(0)
    return result


def _noop_step(st, args, kwargs):
    """Verify's eval phase: a step that changes nothing. A closure (LBFGS, Lightning-style) is called once, so that
    the script's loss on the batch goes through backward and is recorded."""
    if st.ended or st.error is not None or st.cancel_requested:
        force_exit()  # The script caught our stop (or the cancel) and went on.
    closure = kwargs.get("closure", args[0] if args else None)
    if not callable(closure):
        return None
    torch = sys.modules["torch"]
    with torch.enable_grad():
        return closure()


def _set_groups(st, rec, lr):
    groups = rec.opt.param_groups
    if len(rec.initial) < len(groups):  # add_param_group after construction
        for g in groups[len(rec.initial):]:
            rec.initial.append(_as_float(g.get("lr")))
            rec.frozen.append(_hyper(g))
            rec.max_lr.append(None)
    for k, g in enumerate(groups):
        initial = rec.initial[k]
        ratio = (initial / st.ref_lr) if (initial is not None and st.ref_lr) else 1.0
        value = lr * ratio
        current = g["lr"]
        if current.__class__ is float or current.__class__ is int or not hasattr(current, "fill_"):
            g["lr"] = value
        else:
            current.fill_(value)  # A tensor LR (capturable/fused optimizers)
        for key, v in rec.frozen[k]:
            if g.get(key) is not v:
                g[key] = v


def _mean_over_ranks(loss, rec):
    """DDP: every rank's loss of this step, averaged with the script's own process group (gloo or NCCL), so that all
    ranks see the same curve and take the same stop decision at the same step."""
    torch = sys.modules["torch"]
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return loss
    device = "cpu"
    if dist.get_backend() == "nccl":
        for g in rec.opt.param_groups:
            for p in g["params"]:
                device = p.device
                break
            break
    t = torch.tensor([loss], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def _observe_max_lr(rec):
    for k, g in enumerate(rec.opt.param_groups):
        if k < len(rec.max_lr) and rec.max_lr[k] is None and "max_lr" in g:
            rec.max_lr[k] = _as_float(g["max_lr"])  # OneCycleLR's max_lr: the value a picked LR replaces


def _loss_value(losses):
    total = 0.0
    for t, scale in losses:
        v = float(t)
        if scale is not None:
            v = v / float(scale)
        total += v
    return total


# -- losses --------------------------------------------------------------------------------------------------------------

def _record(tensors, torch):
    st = _STATE
    if st is None or not st.active or st.ended:
        return
    items = tensors if isinstance(tensors, (list, tuple)) else (tensors,)
    evaluating = st.verify is not None and st.verify.phase == verify.EVAL
    for t in items:
        if not isinstance(t, torch.Tensor) or t.numel() != 1 or not (t.is_floating_point() or t.is_complex()):
            continue
        entry = (t.detach(), getattr(t, _SCALE, None))
        if evaluating:
            st.verify.record_eval(_loss_value([entry]))  # Verify: a loss on a held-out batch (or ignored)
            continue
        if st.depth > 0:
            if st.in_step is None:
                st.in_step = entry  # A closure: the loss before the update (LBFGS evaluates it again later)
        else:
            st.pending.append(entry)


# -- patching ------------------------------------------------------------------------------------------------------------

def _patch_torch(torch):
    if getattr(torch, "_lr_finder_patched", False):
        return
    torch._lr_finder_patched = True
    Optimizer = torch.optim.Optimizer
    original_init = Optimizer.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        _register(self)

    Optimizer.__init__ = __init__

    original_backward = torch.autograd.backward

    @functools.wraps(original_backward)
    def backward(tensors, *args, **kwargs):
        _record(tensors, torch)
        return original_backward(tensors, *args, **kwargs)

    torch.autograd.backward = backward

    _patch_grad_scalers(torch)
    _patch_io(torch)
    _patch_distributed(torch)
    _patch_dataloader(torch)
    if _STATE is not None and _STATE.verify is not None:
        verify.patch_dataloader(torch, _STATE, SweepStop)
    if seed_offset:
        original_seed = torch.manual_seed

        @functools.wraps(original_seed)
        def manual_seed(seed):
            if _STATE is not None and _STATE.active:
                seed = int(seed) + seed_offset
            return original_seed(seed)

        torch.manual_seed = manual_seed
        torch.random.manual_seed = manual_seed


def _grad_scaler_classes(torch):
    classes = []
    for modname in ("torch.cuda.amp.grad_scaler", "torch.amp.grad_scaler"):
        try:
            mod = __import__(modname, fromlist=["GradScaler"])
        except Exception:
            continue
        cls = getattr(mod, "GradScaler", None)
        if cls is not None and cls not in classes:
            classes.append(cls)
    return classes


def _patch_grad_scalers(torch):
    for cls in _grad_scaler_classes(torch):
        for name in ("scale", "step"):
            fn = cls.__dict__.get(name)
            if fn is None or getattr(fn, _WRAPPED, False):
                continue
            setattr(cls, name, _scale_wrapper(fn, torch) if name == "scale" else _scaler_step_wrapper(fn))


def _scale_wrapper(original, torch):
    @functools.wraps(original)
    def scale(self, outputs):
        out = original(self, outputs)
        st = _STATE
        if st is not None and st.active and isinstance(out, torch.Tensor) and out is not outputs:
            s = getattr(self, "_scale", None)
            if isinstance(s, torch.Tensor):
                try:
                    setattr(out, _SCALE, s.detach().clone())
                except Exception:
                    pass
        return out

    setattr(scale, _WRAPPED, True)
    return scale


def _scaler_step_wrapper(original):
    @functools.wraps(original)
    def step(self, optimizer, *args, **kwargs):
        st = _STATE
        if st is None or not st.active or st.depth > 0:
            return original(self, optimizer, *args, **kwargs)
        before = st.counted
        training = st.verify is None or st.verify.phase == verify.TRAIN
        result = original(self, optimizer, *args, **kwargs)
        if (st.counted == before and training and not st.ended and st.primary is not None
                and _find(optimizer) is st.primary):
            # inf/NaN gradients: GradScaler skipped optimizer.step(); this batch's loss is dropped, the LR stays.
            st.skipped += 1
            st.pending = []
        return result

    setattr(step, _WRAPPED, True)
    return step


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


def _patch_io(torch):
    original_save = torch.save
    original_load = torch.load

    @functools.wraps(original_save)
    def save(obj, f, *args, **kwargs):
        st = _STATE
        if st is not None and not st.finished and _is_path(f):
            path = os.path.abspath(os.fsdecode(os.fspath(f)))
            if not st.active:  # A forked DataLoader worker: the main process reports it
                st.journal.become_child()
                st.journal.note_blocked("torch.save", _rel(st, path))
            elif len(st.blocked) < 100:
                st.blocked.append({"what": "torch.save", "path": _rel(st, path)})
            return None
        return original_save(obj, f, *args, **kwargs)

    @functools.wraps(original_load)
    def load(f, *args, **kwargs):
        st = _STATE
        if st is not None and st.active and _is_path(f) and not st.request.get("allowLoad"):
            path = os.path.realpath(os.fsdecode(os.fspath(f)))
            if st.journal.inside(path):
                if len(st.blocked) < 100:
                    st.blocked.append({"what": "torch.load", "path": _rel(st, path)})
                raise LoadBlocked(path, _rel(st, path))
        return original_load(f, *args, **kwargs)

    torch.save = save
    torch.load = load


class LoadBlocked(FileNotFoundError):
    def __init__(self, path, rel):
        super().__init__(errno.ENOENT, "LR Finder does not let a sweep read trained weights from the workspace "
                         "(%s): the range test starts from the script's own initialisation. Run without resuming, or "
                         "allow it with the lrFinder.script.allowLoad setting (--allow-load)" % rel, path)
        self.rel = rel


def _patch_distributed(torch):
    dist = getattr(torch, "distributed", None)
    if dist is None or not hasattr(dist, "init_process_group"):
        return
    original = dist.init_process_group

    @functools.wraps(original)
    def init_process_group(*args, **kwargs):
        st = _STATE
        if st is not None and st.active and st.world <= 1:
            from . import SweepStop

            st.fail("distributed", "The script calls torch.distributed.init_process_group, but LR Finder did not "
                    "launch it across processes: set a launcher (lrFinder.launcher or --launcher, e.g. \"torchrun "
                    "--nproc_per_node 2\"), or run it without the process group.")
            raise SweepStop(2)
        return original(*args, **kwargs)

    dist.init_process_group = init_process_group


def _patch_dataloader(torch):
    """Remember the first DataLoader's batch size: the per-rank batch of a DDP sweep (shown with the effective one)."""
    try:
        DataLoader = torch.utils.data.DataLoader
    except AttributeError:
        return
    original = DataLoader.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        st = _STATE
        if st is not None and st.active and st.batch_size is None and isinstance(getattr(self, "batch_size", None), int):
            st.batch_size = self.batch_size

    DataLoader.__init__ = __init__


def _patch_numpy(np):
    if not seed_offset or getattr(np, "_lr_finder_patched", False):
        return
    np._lr_finder_patched = True
    original = np.random.seed

    def seed(s=None):
        if isinstance(s, int) and _STATE is not None and _STATE.active:
            s = s + seed_offset
        return original(s)

    np.random.seed = seed


def _rel(st, path):
    return os.path.relpath(path, st.root) if st.journal.inside(path) else path


# -- what the hello says ------------------------------------------------------------------------------------------------

def device_of(st):
    for r in st.optimizers:
        for g in r.opt.param_groups:
            for p in g["params"]:
                return str(getattr(p, "device", "cpu")).split(":")[0]
    return "cpu"


def describe_backend(st):
    torch = sys.modules.get("torch")
    version = getattr(torch, "__version__", "?")
    return "PyTorch %s on %s, Python %s (%s)" % (version, device_of(st), sys.version.split()[0], sys.executable)


def warnings(st):
    out = []
    real = [r for r in st.optimizers if r.alias_of is None]
    if st.world > 1 and not _process_group_ready():
        out.append("WORLD_SIZE=%d but the script has no process group at its first step: each rank sweeps alone and "
                   "rank 0's curve is shown." % st.world)
    if len(real) > 1:
        out.append("%d optimizers (%s) are swept together, each group keeping its ratio to the largest LR; the curve "
                   "mixes their losses, so read it with care: the result is ambiguous."
                   % (len(real), ", ".join(r.cls.__name__ for r in real)))
    groups = [lr for r in real for lr in r.initial]
    if len(groups) > 1 and len(set(groups)) > 1:
        out.append("%d param groups with different LRs: the sweep LR is the largest group's; the others keep their "
                   "ratio to it." % len(groups))
    return out


def _process_group_ready():
    dist = getattr(sys.modules.get("torch"), "distributed", None)
    try:
        return bool(dist is not None and dist.is_available() and dist.is_initialized())
    except Exception:
        return False


def script_summary(st):
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    root = st.root
    rel = lambda p: os.path.relpath(p, root) if st.journal.inside(p) else p
    return {
        "python": sys.executable,
        "argv": list(sys.argv),
        "module": spec.name if spec is not None and getattr(spec, "name", None) not in (None, "__main__") else None,
        "cwd": os.getcwd(),
        "torch": getattr(sys.modules.get("torch"), "__version__", None),
        "device": device_of(st),
        "optimizers": [{
            "class": r.cls.__name__, "module": r.cls.__module__,
            "groups": [{"lr": r.initial[k], "params": sum(p.numel() for p in g["params"]),
                        **({"maxLr": r.max_lr[k]} if r.max_lr[k] is not None else {})}
                       for k, g in enumerate(r.opt.param_groups)],
        } for r in st.optimizers if r.alias_of is None],
        "options": st.argparse,
        "filesRead": [rel(p) for p in st.journal.files_read],
        **({"distributed": _distributed_summary(st)} if st.world > 1 else {}),
    }


def _distributed_summary(st):
    dist = getattr(sys.modules.get("torch"), "distributed", None)
    backend = None
    try:
        if dist is not None and dist.is_initialized():
            backend = str(dist.get_backend())
    except Exception:
        pass
    out = {"worldSize": st.world, "backend": backend, "launcher": os.environ.get("LR_FINDER_LAUNCHER") or None}
    if st.batch_size:
        out["perRankBatch"] = st.batch_size
        out["effectiveBatch"] = st.batch_size * st.world
    return out
