"""Scripts the range test cannot run (or that fight it): the hook says why, with the right code, names what the
user has to change, points at the line when there is one, and still leaves the workspace as it was."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from harness import PYTHON, tree_diff
from reference import load_script
from sweep_cases import DATA, SCRIPTS, Case, register

IRIS_FILE = (DATA["iris"], "data/iris.csv")


def line_of(script: str, marker: str) -> int:
    for n, line in enumerate((SCRIPTS / script).read_text().splitlines(), 1):
        if marker in line:
            return n
    raise AssertionError("no %r in %s" % (marker, script))


def python_without_torch():
    """A Python that has no torch (the pyenv python3 on PATH here), or None."""
    candidates = [os.environ.get("LR_FINDER_TEST_NO_TORCH_PYTHON"), shutil.which("python3"), shutil.which("python")]
    for c in candidates:
        if not c or os.path.realpath(c) == os.path.realpath(PYTHON):
            continue
        try:
            out = subprocess.run([c, "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == "True":
            return c
    return None


NO_TORCH_PYTHON = python_without_torch()


def setup_checkpoint(ws: Path):
    """A checkpoint of an earlier run, for --resume (written with plain torch.save, before the sweep)."""
    m = load_script("k_trainer_checkpoints.py")
    args = m.parse_args(["--data", str(DATA["iris"])])
    model, data = m.build(args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    trainer = m.Trainer(model, opt, sched, data, args.batch_size, out_dir=str(ws / "checkpoints"))
    trainer.epoch = 5
    trainer.save_checkpoint("last.pt")


_cancel_sent = {}


def cancel_after_5_points(event, proc):
    if event.get("type") == "point" and event["iteration"] == 4 and proc.pid not in _cancel_sent:
        _cancel_sent[proc.pid] = time.monotonic()
        proc.send_signal(signal.SIGTERM)


K_FILES = [("k_trainer_checkpoints.py", "k_trainer_checkpoints.py"), ("a_plain_steplr.py", "a_plain_steplr.py"),
           IRIS_FILE]

CASES = register(
    Case("too_few_epochs", [("fail_too_few_epochs.py", "train.py")], ["python", "train.py"],
         settings=dict(numIter=30)),
    Case("too_few_steps", [("fail_max_steps.py", "train.py")], ["python", "train.py"], settings=dict(numIter=60)),
    Case("optimizer_rebuilt_for_phase_two", [("p_new_optimizer_per_phase.py", "finetune.py")],
         ["python", "finetune.py"], settings=dict(numIter=60)),
    Case("manual_update", [("fail_manual_update.py", "sgd_by_hand.py")], ["python", "sgd_by_hand.py"]),
    Case("exception_in_training", [("fail_exception_in_training.py", "train.py")], ["python", "train.py"]),
    Case("fails_before_training", [("fail_before_training.py", "train.py")], ["python", "train.py"]),
    Case("autograd_grad_only", [("fail_autograd_grad.py", "meta.py")], ["python", "meta.py"]),
    Case("distributed_env", [("a_plain_steplr.py", "train.py"), IRIS_FILE], ["python", "train.py"],
         env={"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
              "MASTER_PORT": "29533"}),
    Case("numpy_only", [("fail_numpy_only.py", "logreg.py")], ["python", "logreg.py"]),
    Case("no_torch_python", [("a_plain_steplr.py", "train.py"), IRIS_FILE],
         [NO_TORCH_PYTHON or "python", "train.py"]),
    Case("resume_blocked", K_FILES, ["python", "k_trainer_checkpoints.py", "--resume", "checkpoints/last.pt"],
         setup=setup_checkpoint),
    Case("resume_allowed", K_FILES, ["python", "k_trainer_checkpoints.py", "--resume", "checkpoints/last.pt"],
         settings=dict(allowLoad=True, numIter=60), setup=setup_checkpoint),
    Case("cancelled", [("slow_loader.py", "train.py")], ["python", "train.py"], on_event=cancel_after_5_points),
    Case("bare_except_swallows_stop", [("swallow_stop.py", "train.py")], ["python", "train.py"]),
)


def check_workspace(ran):
    diff = tree_diff(ran.before, ran.after())
    assert not diff, "the workspace changed:\n" + diff + "\n" + ran.result.describe()


def expect_error(ran, code):
    r = ran.result
    assert not r.timed_out and not r.bad_lines, r.describe()
    assert r.error is not None, "no error event\n" + r.describe()
    assert r.error["code"] == code, r.describe()
    assert r.report is not None, "no report at exit\n" + r.describe()
    check_workspace(ran)
    return r.error


@pytest.mark.sweep("too_few_epochs")
def test_too_few_epochs(sweeps):
    ran = sweeps.get("too_few_epochs")
    e = expect_error(ran, "ended-early")
    r = ran.result
    assert len(r.points) == 20  # 640 samples / batch 32, one epoch
    assert r.returncode == 0, r.describe()
    assert "20" in e["message"] and "30" in e["message"], e
    assert "--epochs" in e["message"], e
    assert "--epochs 2" in e["message"], e  # 20 steps per epoch: two epochs cover 30 steps


@pytest.mark.sweep("too_few_steps")
def test_too_few_steps_names_max_steps(sweeps):
    e = expect_error(sweeps.get("too_few_steps"), "ended-early")
    assert "40" in e["message"] and "--max-steps 60" in e["message"], e


@pytest.mark.sweep("optimizer_rebuilt_for_phase_two")
def test_optimizer_rebuilt_mid_run_keeps_the_sweep_going(sweeps):
    r = sweeps.get("optimizer_rebuilt_for_phase_two").result
    assert r.error is None and r.end is not None and len(r.points) == 60, r.describe()
    assert any("built a new optimizer" in n for n in r.report["notes"]), r.describe()


@pytest.mark.sweep("manual_update")
def test_manual_update_has_no_optimizer(sweeps):
    e = expect_error(sweeps.get("manual_update"), "no-step")
    assert "optim" in e["message"], e
    assert not sweeps.get("manual_update").result.points


@pytest.mark.sweep("exception_in_training")
def test_exception_during_training_points_at_the_line(sweeps):
    ran = sweeps.get("exception_in_training")
    e = expect_error(ran, "script-failed")
    r = ran.result
    assert len(r.points) == 9, r.describe()  # 9 full batches of 32, then the 12-image batch fails
    assert os.path.realpath(e["file"]) == os.path.realpath(ran.workspace / "train.py"), e
    assert e["line"] == line_of("fail_exception_in_training.py", "BUG_LINE"), e
    assert "RuntimeError" in e["message"] and "[32, -1]" in e["message"], e
    assert re.search(r"\b9 of 100\b", e["message"]), e  # after 9 of the 100 steps
    assert r.returncode != 0, r.describe()
    assert "Traceback" in r.stderr and "RuntimeError" in r.stderr  # the script's own stderr is untouched


@pytest.mark.sweep("fails_before_training")
def test_failure_before_training_points_at_the_line(sweeps):
    ran = sweeps.get("fails_before_training")
    e = expect_error(ran, "script-failed")
    r = ran.result
    assert not r.points and r.hello is None, r.describe()
    assert os.path.realpath(e["file"]) == os.path.realpath(ran.workspace / "train.py"), e
    assert e["line"] == line_of("fail_before_training.py", "OPEN_LINE"), e
    assert "FileNotFoundError" in e["message"] and "features.csv" in e["message"], e
    assert "before" in e["message"], e
    assert r.returncode != 0 and "FileNotFoundError" in r.stderr, r.describe()


@pytest.mark.sweep("autograd_grad_only")
def test_autograd_grad_gives_no_loss(sweeps):
    e = expect_error(sweeps.get("autograd_grad_only"), "no-loss")
    assert "backward" in e["message"] and "autograd.grad" in e["message"], e
    assert not sweeps.get("autograd_grad_only").result.points


@pytest.mark.sweep("distributed_env")
def test_distributed_launch_is_refused(sweeps):
    ran = sweeps.get("distributed_env")
    r = ran.result
    assert r.error is not None and r.error["code"] == "distributed", r.describe()
    assert "WORLD_SIZE" in r.error["message"], r.error
    assert not r.points and r.hello is None, r.describe()
    assert "epoch 1" not in r.stderr, "the script trained anyway:\n" + r.describe()
    check_workspace(ran)


@pytest.mark.sweep("numpy_only")
def test_script_without_torch(sweeps):
    e = expect_error(sweeps.get("numpy_only"), "no-step")
    assert "optim" in e["message"], e


@pytest.mark.sweep("no_torch_python")
@pytest.mark.skipif(NO_TORCH_PYTHON is None, reason="no Python without torch on PATH")
def test_python_without_torch(sweeps):
    ran = sweeps.get("no_torch_python")
    e = expect_error(ran, "no-torch")
    assert "torch" in e["message"] and NO_TORCH_PYTHON.split("/")[-1] in e["message"], e


@pytest.mark.sweep("resume_blocked")
def test_resume_from_a_workspace_checkpoint_is_blocked(sweeps):
    ran = sweeps.get("resume_blocked")
    e = expect_error(ran, "load-blocked")
    r = ran.result
    assert str(Path("checkpoints", "last.pt")) in e["message"], e
    assert "allowLoad" in e["message"] or "allow" in e["message"], e
    assert os.path.realpath(e["file"]) == os.path.realpath(ran.workspace / "k_trainer_checkpoints.py"), e
    assert e["line"] == line_of("k_trainer_checkpoints.py", "torch.load(path)"), e
    assert {"what": "torch.load", "path": str(Path("checkpoints", "last.pt"))} in r.report["blocked"], r.report
    assert not r.points


@pytest.mark.sweep("resume_allowed")
def test_resume_when_loading_is_allowed(sweeps):
    ran = sweeps.get("resume_allowed")
    r = ran.result
    assert r.error is None and r.end is not None, r.describe()
    assert len(r.points) == r.end["points"] > 0
    check_workspace(ran)


@pytest.mark.sweep("cancelled")
def test_sigterm_cancels_and_restores(sweeps):
    ran = sweeps.get("cancelled")
    r = ran.result
    assert not r.timed_out and not r.bad_lines, r.describe()
    assert r.end is not None and r.end["reason"] == "cancelled", r.describe()
    assert r.error is None, r.describe()
    assert 5 <= len(r.points) < 100, r.describe()
    assert r.end["points"] == len(r.points)
    assert r.report is not None, r.describe()
    restored = {x["path"]: x["action"] for x in r.report["restored"]}
    assert restored.get("progress.txt") == "removed", r.report
    check_workspace(ran)


@pytest.mark.sweep("bare_except_swallows_stop")
def test_a_bare_except_does_not_keep_the_script_training(sweeps):
    ran = sweeps.get("bare_except_swallows_stop")
    r = ran.result
    assert not r.timed_out and not r.bad_lines, r.describe()
    assert r.end is not None and r.end["reason"] in ("diverged", "completed"), r.describe()
    assert r.error is None, r.describe()
    assert "skipped" not in r.stdout, "the script went on training to its end:\n" + r.describe()
    assert r.report is not None, r.describe()
    check_workspace(ran)
