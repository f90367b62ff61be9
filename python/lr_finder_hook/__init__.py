"""LR Finder's range test inside the user's own PyTorch script (docs/script-engine.md).

`install()` runs from sitecustomize before the script. It reads the run request (LR_FINDER_REQUEST), opens the
protocol channel (LR_FINDER_PROTOCOL_FD), journals file writes inside the workspace, and patches torch lazily when
the script imports it (torch_patch.py). Only the process that installs first speaks: DataLoader workers and any
other Python the script starts inherit the environment and stay passive. With a `verify` field in the request the
same machinery runs one Verify candidate instead of a range test (verify.py).
"""
import atexit
import json
import os
import signal
import sys
import time

from .journal import Journal
from .protocol import PROTOCOL_VERSION, Channel, wire
from .sweep import StopRule, schedule_lr
from .verify import Verify, parse_request

ENGINE = "torch"
_MAIN_PID_VAR = "LR_FINDER_MAIN_PID"
_JOURNAL_VAR = "LR_FINDER_JOURNAL_DIR"
_LAUNCHER_VAR = "LR_FINDER_LAUNCHER"


def _rank_and_world():
    """This process's rank and the world size, from torchrun's (or any launcher's) RANK/WORLD_SIZE, else Slurm's
    SLURM_PROCID/SLURM_NTASKS; (None, 1) for a single process."""
    def num(name):
        v = os.environ.get(name, "").strip()
        return int(v) if v.isdigit() else None

    world = num("WORLD_SIZE")
    rank = num("RANK")
    if world is None and rank is None and (num("SLURM_NTASKS") or 1) > 1:
        world, rank = num("SLURM_NTASKS"), num("SLURM_PROCID")
    world = world or 1
    return (rank if world > 1 else None), world
_CHILD_JOURNAL = None


class SweepStop(SystemExit):
    """Ends the script once the sweep is over. A SystemExit, so `except Exception:` in the script does not catch it."""


class State:
    """Everything the hook knows about this run. One instance, `STATE`."""

    def __init__(self, request, channel, journal):
        self.request = request
        self.settings = {
            "startLr": float(request.get("startLr", 1e-7)),
            "endLr": float(request.get("endLr", 10.0)),
            "numIter": int(request.get("numIter", 100)),
            "mode": request.get("mode", "exponential"),
            "stopFactor": float(request.get("stopFactor", 4.0)),
            "smoothing": float(request.get("smoothing", 0.98)),
        }
        self.channel = channel
        self.journal = journal
        self.root = journal.root
        self.pid = os.getpid()
        self.t0 = time.time()
        self.stop_rule = StopRule(self.settings)
        self.optimizers = []  # Registered, in construction order
        self.primary = None  # The optimizer whose steps drive the sweep (the first to step)
        self.ref_lr = None  # The largest constructed LR: groups keep their ratio to it
        self.index = 0  # Next sweep step
        self.depth = 0  # Nesting of patched step calls
        self.in_step = None  # The first loss that went through backward inside the current step (closures)
        self.pending = []  # Losses that went through backward since the last counted step
        self.pending_mark = 0  # len(pending) after the last outer step of any optimizer
        self.other = None  # A non-primary optimizer stepping repeatedly (a new training phase?)
        self.other_count = 0
        self.counted = 0  # Counted steps (== points sent)
        self.skipped = 0  # GradScaler steps that skipped the optimizer step (inf/NaN gradients)
        self.hello_sent = False
        self.ended = None  # End reason once the sweep is over
        self.error = None  # The error event, if any
        self.blocked = []
        self.notes = []
        self.exception = None  # (type, value, traceback) of an exception that ended the script
        self.argparse = []  # [{"option", "dest", "default", "value"}] of the script's parser
        self.finished = False
        self.cancel_requested = False  # SIGTERM: the front end's cancel
        self.rank = 0  # Distributed: this process's rank (0 alone speaks), and the world size
        self.world = 1
        self.batch_size = None  # The first DataLoader's batch size (per rank)
        # Verify mode (verify.py): one one-cycle training at a given max LR, scored on held-out data; None: a sweep
        self.verify = None
        self.verify_error = None
        if request.get("verify") is not None:
            settings, self.verify_error = parse_request(request["verify"])
            if settings is not None:
                self.verify = Verify(settings, int(request.get("seedOffset") or 0))

    @property
    def active(self):
        return os.getpid() == self.pid and not self.finished

    def lr_at(self, i):
        if self.verify is not None:
            return self.verify.lr_at(i)
        s = self.settings
        return schedule_lr(min(i, s["numIter"] - 1), s["numIter"], s["startLr"], s["endLr"], s["mode"])

    def send(self, event, urgent=True):
        """Points, hello, end and report: rank 0 speaks for all ranks. Points may wait a few ms (batched)."""
        if self.rank != 0:
            return
        if not self.channel.send(event, urgent) and self.channel.broken and not self.ended:
            # The front end is gone: nobody reads the curve any more.
            self.ended = "cancelled"
            raise SweepStop(0)

    def fail(self, code, message, where=None):
        """Record an error (the first one wins) and send it."""
        if self.error is not None:
            return
        if self.world > 1:
            message = "rank %d of %d: %s" % (self.rank, self.world, message)
        self.error = {"type": "error", "code": code, "message": message}
        if self.world > 1:
            self.error["rank"] = self.rank
        if where:
            self.error["file"], self.error["line"] = where
        self.channel.send(self.error)

    def end(self, reason):
        if self.ended:
            return
        self.ended = reason
        if self.world > 1:
            sys.stderr.write("LR Finder: rank %d of %d stopped after %d steps (%s)\n" % (self.rank, self.world, self.counted, reason))
        if self.rank != 0:
            return
        self.channel.send({"type": "end", "reason": reason, "points": self.counted,
                           "seconds": round(time.time() - self.t0, 3), "skipped": self.skipped})


STATE = None


def install():
    """Called by sitecustomize when LR_FINDER_REQUEST is set."""
    global STATE
    if STATE is not None:
        return
    main_pid = os.environ.get(_MAIN_PID_VAR)
    request = json.loads(os.environ["LR_FINDER_REQUEST"])
    if main_pid and main_pid != str(os.getpid()):
        _install_child(request)  # A Python the sweep's process started (a spawned DataLoader worker, a subprocess)
        return
    rank, world = _rank_and_world()
    launcher = bool(os.environ.get(_LAUNCHER_VAR))
    if launcher and rank is None and os.environ.get("LR_FINDER_LAUNCHER_KIND") == "torchrun":
        return  # torchrun's own agent process: its ranks run the sweep.
    os.environ[_MAIN_PID_VAR] = str(os.getpid())
    fd = os.environ.get("LR_FINDER_PROTOCOL_FD")
    path = os.environ.get("LR_FINDER_PROTOCOL_FILE")
    channel = Channel(int(fd) if fd and not path else None, path)
    import tempfile

    shared = tempfile.mkdtemp(prefix="lr-finder-journal-")
    os.environ[_JOURNAL_VAR] = shared
    journal = Journal(request.get("root") or os.getcwd(), shared)
    STATE = State(request, channel, journal)
    STATE.rank, STATE.world = (rank or 0), world
    sys.dont_write_bytecode = True

    if world > 1 and not launcher:
        STATE.world = 1
        STATE.fail("distributed", "WORLD_SIZE=%d is set, but LR Finder did not launch the ranks: set a launcher "
                   "(lrFinder.launcher or --launcher, e.g. \"torchrun --nproc_per_node %d\") so that every rank "
                   "sweeps, or unset WORLD_SIZE/RANK to run %s as one process."
                   % (world, world, os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "the script"))
        STATE.channel.close()
        os._exit(2)

    if STATE.verify_error or (STATE.verify is not None and world > 1):
        if STATE.verify_error:
            code, message = "verify-request", "LR Finder's verify request is invalid: %s." % STATE.verify_error
        else:
            code, message = ("verify-distributed", "Verify runs single-process; this run has %d ranks (WORLD_SIZE=%d). "
                             "Verify the LR without the launcher (one process), or train the candidates yourself."
                             % (world, world))
        STATE.world = 1
        if not rank:
            STATE.fail(code, message)
        STATE.channel.close()
        os._exit(2)

    sys.addaudithook(_audit)
    atexit.register(_at_exit)
    _wrap_excepthook()
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        pass
    _patch_argparse()
    from . import torch_patch

    torch_patch.install(STATE)
    _patch_seeds(int(request.get("seedOffset") or 0))


def _audit(event, args):
    st = STATE
    if st is None or st.finished:
        return
    if not st.active:  # A forked child (a DataLoader worker): it journals into the shared folder.
        st.journal.become_child()
    st.journal.audit(event, args)


def _install_child(request):
    """A child Python: journal its writes for the main process to undo; nothing else."""
    global _CHILD_JOURNAL
    shared = os.environ.get(_JOURNAL_VAR)
    if not shared or not os.path.isdir(shared):
        return
    _CHILD_JOURNAL = Journal(request.get("root") or os.getcwd(), shared)
    _CHILD_JOURNAL.become_child()
    sys.dont_write_bytecode = True
    sys.addaudithook(lambda event, args: _CHILD_JOURNAL.audit(event, args))


def _on_sigterm(signum, frame):
    # Nothing is written here: the handler runs between two bytecodes of the main thread, which may be inside the
    # channel's lock. The end event goes out at exit (finish), after the script has unwound.
    st = STATE
    if st is None or not st.active:
        raise SystemExit(143)
    st.cancel_requested = True
    raise SweepStop(0)


def _wrap_excepthook():
    previous = sys.excepthook

    def excepthook(tp, value, tb):
        if STATE is not None and STATE.active and not isinstance(value, SystemExit):
            STATE.exception = (tp, value, tb)
        previous(tp, value, tb)

    sys.excepthook = excepthook


def _patch_argparse():
    """Remember the script's command-line options (named in messages: `--epochs`, and where an LR came from)."""
    import argparse

    original = argparse.ArgumentParser.parse_known_args

    def parse_known_args(self, args=None, namespace=None):
        result = original(self, args, namespace)
        st = STATE
        if st is not None and st.active and not st.argparse:
            ns = result[0]
            for a in self._actions:
                if a.option_strings and a.dest not in ("help",) and hasattr(ns, a.dest):
                    v = getattr(ns, a.dest)
                    if isinstance(v, (int, float, str, bool)) or v is None:
                        st.argparse.append({"option": max(a.option_strings, key=len), "dest": a.dest,
                                            "default": a.default if isinstance(a.default, (int, float, str, bool)) else None,
                                            "value": v})
        return result

    argparse.ArgumentParser.parse_known_args = parse_known_args


def _patch_seeds(offset):
    """Repeat xK: run k adds k to the seeds the script sets, so each run has other initial weights and batch order."""
    if not offset:
        return
    import random

    original = random.seed

    def seed(a=None, *args, **kwargs):
        if isinstance(a, int) and STATE is not None and STATE.active:
            a = a + offset
        return original(a, *args, **kwargs)

    random.seed = seed
    from . import torch_patch

    torch_patch.seed_offset = offset


# -- the end of the run ----------------------------------------------------------------------------------------------

def finish():
    """Restore the workspace, say what happened, close the channel. Runs once, at exit (or at a forced stop)."""
    st = STATE
    if st is None or not st.active:
        return
    try:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    st.finished = True
    if st.cancel_requested and not st.ended:
        st.end("cancelled")
    if st.verify is not None and not st.ended and st.error is None:
        st.verify.at_exit(st)  # the eval phase over when the script ends by itself
    if not st.ended and st.error is None:
        _explain_early_end(st)
    st.blocked.extend(st.journal.merge_children())
    restored = st.journal.restore()
    # Only what is still there: Python's own probes of the temp folder come and go.
    outside = [p for p in st.journal.outside if os.path.lexists(p)]
    report = {"type": "report", "blocked": st.blocked, "restored": restored, "outside": outside,
              "notes": list(st.notes)}
    if st.journal.untracked:
        report["notes"].append("%d file operations relative to a folder descriptor could not be journaled."
                               % st.journal.untracked)
    if st.rank == 0:
        st.channel.send(report)
    st.channel.close()


def _at_exit():
    finish()


def _explain_early_end(st):
    from . import diagnose

    code, message, where = diagnose.early_end(st)
    st.fail(code, message, where)


def force_exit():
    """A stop that the script swallowed (a bare `except:`): clean up and end the process."""
    finish()
    os._exit(0)


def hello(st):
    from . import torch_patch

    st.hello_sent = True
    st.t0 = time.time()  # "seconds" in the end event: the sweep's own time, not the script's start-up
    event = {
        "type": "hello", "protocol": PROTOCOL_VERSION, "engine": ENGINE,
        "backend": torch_patch.device_of(st), "backendReason": torch_patch.describe_backend(st),
        "warnings": torch_patch.warnings(st), "config": dict(st.settings),
        "script": torch_patch.script_summary(st),
    }
    if st.verify is not None:
        event["verify"] = {"lr": st.verify.lr, "steps": st.verify.steps, "seed": st.verify.seed}
    st.send(event)


__all__ = ["install", "SweepStop", "STATE", "wire"]
