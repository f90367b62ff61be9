"""Why a script ended without a finished sweep, in words that say what to do."""
import os
import re
import sys
import traceback

_EPOCH_OPTION = re.compile(r"(^|_)(n_?)?(num_?)?(epochs?|max_epochs|max_steps|steps|iters|iterations|num_iter)$")


def early_end(st):
    """Returns (code, message, where) for a script that ended before the sweep did."""
    script = _script_name()
    exc = st.exception
    if exc is not None:
        tp, value, tb = exc
        from .torch_patch import LoadBlocked

        if isinstance(value, LoadBlocked):
            return "load-blocked", "%s: %s." % (script, value.strerror), _where(st, tb)
        if isinstance(value, ModuleNotFoundError) and (value.name or "").split(".")[0] == "torch":
            return ("no-torch", "%s has no torch (ModuleNotFoundError: No module named %r). Choose a Python that "
                    "has it: 'Python: Select Interpreter' (the Python extension), the lrFinder.python setting, or "
                    "--python on the command line." % (sys.executable, value.name), _where(st, tb))
        if st.verify is not None and st.verify.phase == "eval":
            when = "in the held-out evaluation after the verify run's %d training steps" % st.counted
        elif st.counted:
            when = "during the %s, after %d of %d steps" % ("verify run" if st.verify is not None else "sweep",
                                                            st.counted, _needed(st))
        else:
            when = "before its first optimizer step"
        text = "".join(traceback.format_exception_only(tp, value)).strip().splitlines()
        return "script-failed", "%s failed %s: %s" % (script, when, text[-1] if text else tp.__name__), _where(st, tb)
    real = [r for r in st.optimizers if r.alias_of is None]
    if not real:
        return ("no-step", "%s ended without building a torch.optim optimizer, so there was no step to sweep. LR "
                "Finder sweeps the LR of torch.optim optimizers (any subclass); update loops that change p.data by "
                "hand are not supported." % script, None)
    if st.counted == 0:
        names = ", ".join(r.cls.__name__ for r in real)
        return ("no-step", "%s built %s but ended without calling its step(), so there was no step to sweep."
                % (script, names), None)
    need = _needed(st)
    if st.verify is not None:
        msg = ("%s ended after %d of the verify run's %d optimizer steps: verifying an LR trains %d steps (and then "
               "scores held-out batches), more than one run of the script trains." % (script, st.counted, need, need))
        hint = _epoch_hint(st, need + 1, "the verify run's number of steps")
        msg += " " + (hint or "Give it more data or epochs, or lower the verify run's number of steps.")
        return "ended-early", msg, None
    msg = ("%s ended after %d of the sweep's %d optimizer steps: the sweep needs more batches than one run of the "
           "script trains." % (script, st.counted, need))
    hint = _epoch_hint(st, need)
    msg += " " + (hint or "Give it more data or epochs, or lower the sweep's number of steps (lrFinder.sweep.numIter, --num-iter).")
    return "ended-early", msg, None


def _needed(st):
    return st.verify.steps if st.verify is not None else st.settings["numIter"]


def verify_no_heldout(st):
    """(code, message) for a verify run whose script ended after its training steps without a loss on any held-out
    batch: it stopped right after them, or its loop never ran backward on the held-out batches it was given."""
    script = _script_name()
    n = st.verify.steps
    held = st.verify.datasets.get(st.verify.train_key)
    if held is None or held.cursor == 0:
        msg = ("%s ended right after the verify run's %d training steps, before any held-out batch could be scored: "
               "Verify needs the script to go on for at least one more pass over its data after them." % (script, n))
        hint = _epoch_hint(st, n + 1, "the verify run's number of steps")
        return "ended-early", msg + " " + (hint or "Give it more epochs, or lower the verify run's number of steps.")
    return "no-loss", ("%s was given its held-out batches after the verify run's %d training steps, but no loss went "
                       "through loss.backward() on them, so there is no held-out loss to report." % (script, n))


def _epoch_hint(st, need, lower="the sweep's number of steps"):
    for o in st.argparse:
        dest = o["dest"].lower()
        if not _EPOCH_OPTION.search(dest) or not isinstance(o["value"], int) or isinstance(o["value"], bool):
            continue
        v = o["value"]
        if v <= 0:
            continue
        per = st.counted / float(v)
        want = int(-(-need // per)) if per > 0 else v + 1
        if "epoch" in dest:
            return ("%s is %d: run it with %s %d or more (in lrFinder.script.args or the launch configuration), or "
                    "lower %s." % (o["option"], v, o["option"], max(want, v + 1), lower))
        return ("%s is %d: run it with %s %d or more, or lower %s."
                % (o["option"], v, o["option"], max(need, v + 1), lower))
    return None


def _script_name():
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) not in (None, "__main__"):
        return "python -m " + spec.name
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "the script"


def _where(st, tb):
    """The innermost traceback frame in the workspace (the user's code), else the innermost of all."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    inside = [f for f in frames if f.filename and st.journal.inside(os.path.realpath(f.filename))]
    chosen = (inside or frames or [None])[-1]
    if chosen is None:
        return None
    return os.path.realpath(chosen.filename), chosen.lineno
