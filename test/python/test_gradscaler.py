"""GradScaler skipping a step (inf/NaN gradients): the skipped step is counted, not plotted, its batch's loss is dropped,
and the LR does not advance. A CPU-only machine disables GradScaler, so the script (scripts/q_gradscaler_skip.py) turns
it on with CPU tensors and lets GradScaler.step's own code decide to skip every 5th step. The CUDA path itself (a real
overflow, scale() on a CUDA tensor) could not be run here."""
import shutil

from harness import run_sweep, tree_hash

SCRIPT = "q_gradscaler_skip.py"


def test_skipped_steps_are_counted_not_plotted(tmp_path):
    from pathlib import Path

    src = Path(__file__).resolve().parent / "scripts" / SCRIPT
    shutil.copy(src, tmp_path / "train.py")
    before = tree_hash(tmp_path)
    r = run_sweep(["python", "train.py"], tmp_path, numIter=30, stopFactor=1e9)
    assert r.end is not None and r.end["reason"] == "completed", r.describe()
    assert len(r.points) == 30
    # Steps 3, 8, 13, ... overflowed: 30 kept steps take 37 batches, 7 of them skipped.
    assert r.end["skipped"] == 7, r.end
    kept = [line.split() for line in r.stdout.splitlines() if line.split()[1:2] == ["False"]]
    # (the script prints a step's loss after the step: the 30th, where the sweep ends, is not printed)
    assert [p["loss"] for p in r.points[:29]] == [float(k[2]) for k in kept[:29]]
    # The LR advanced only on kept steps: point i has the schedule's i-th LR.
    assert [p["iteration"] for p in r.points] == list(range(30))
    assert tree_hash(tmp_path) == before
