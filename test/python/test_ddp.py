"""DDP under torchrun, 2 CPU ranks (gloo): the hook sweeps on every rank, rank 0 reports, each step's loss is the mean
over the ranks. The curve equals a hand-written 2-rank range test point for point; both ranks stop at the same step;
nothing is left running; a cancel ends both ranks; the workspace is byte-identical."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import PYTHON, tree_hash

HERE = Path(__file__).resolve().parent
HOOK = HERE.parent.parent / "python"
SCRIPTS = HERE / "scripts" / "ddp"


def torchrun(*args):
    # torch 1.13 on Python 3.11 crashes at start-up without --redirects/--tee/--log_dir (the front end adds them too).
    return [PYTHON, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--redirects", "2", "--tee", "2", *args]


def run_sweep(workspace, tmp, settings=None, on_points=None, timeout=180):
    proto = tmp / "protocol.jsonl"
    proto.write_text("")
    request = {"startLr": 1e-7, "endLr": 10, "numIter": 100, "mode": "exponential", "stopFactor": 4, "smoothing": 0.98,
               "root": str(workspace), "seedOffset": 0, "allowLoad": False, **(settings or {})}
    env = dict(os.environ, PYTHONPATH=str(HOOK), PYTHONDONTWRITEBYTECODE="1", LR_FINDER_REQUEST=json.dumps(request),
               LR_FINDER_PROTOCOL_FILE=str(proto), LR_FINDER_LAUNCHER="torchrun --nproc_per_node 2", LR_FINDER_LAUNCHER_KIND="torchrun",
               LR_FINDER_MAIN_PID="")
    p = subprocess.Popen(torchrun("--log_dir", str(tmp / "logs"), "train_ddp.py"), cwd=workspace, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.time()
    cancelled = False
    while p.poll() is None and time.time() - t0 < timeout:
        time.sleep(0.1)
        if on_points and not cancelled:
            n = sum(1 for line in proto.read_text().splitlines() if '"type":"point"' in line)
            if n >= on_points:
                os.kill(p.pid, signal.SIGTERM)
                cancelled = True
    try:
        out, err = p.communicate(timeout=30)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    events = [json.loads(line) for line in proto.read_text().splitlines() if line.strip()]
    return p.returncode, events, err.decode(errors="replace"), p.pid


def group_alive(pgid):
    alive = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(d))
    return alive


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(SCRIPTS / "train_ddp.py", ws / "train_ddp.py")
    return ws


def reference(tmp_path):
    out = tmp_path / "reference.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LR_FINDER")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    r = subprocess.run(torchrun("--log_dir", str(tmp_path / "ref-logs"), str(SCRIPTS / "reference_ddp.py"), str(out)),
                       cwd=tmp_path, env=env, capture_output=True, timeout=180)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return json.loads(out.read_text())


def test_ddp_curve_equals_a_hand_written_two_rank_range_test(workspace, tmp_path):
    before = tree_hash(workspace)
    code, events, err, pgid = run_sweep(workspace, tmp_path)
    assert code == 0, err[-3000:]
    hello = events[0]
    assert hello["type"] == "hello" and hello["script"]["distributed"]["worldSize"] == 2, hello
    assert hello["script"]["distributed"]["backend"] == "gloo"
    assert hello["script"]["distributed"]["effectiveBatch"] == 64
    points = [e for e in events if e["type"] == "point"]
    end = next(e for e in events if e["type"] == "end")
    ref = reference(tmp_path)
    assert [p["lr"] for p in points] == ref["lrs"]
    assert [p["loss"] for p in points] == ref["losses"]
    assert end["points"] == len(ref["losses"])
    # Both ranks stopped at the same step, with the same reason.
    stops = re.findall(r"rank (\d) of 2 stopped after (\d+) steps \((\w[\w-]*)\)", err)
    assert sorted(stops) == [("0", str(end["points"]), end["reason"]), ("1", str(end["points"]), end["reason"])], err[-2000:]
    # Only rank 0 reported; nothing is left running; the folder is as it was.
    assert sum(1 for e in events if e["type"] == "hello") == 1
    assert not group_alive(pgid)
    assert tree_hash(workspace) == before


def test_cancel_ends_both_ranks(workspace, tmp_path):
    before = tree_hash(workspace)
    code, events, err, pgid = run_sweep(workspace, tmp_path, settings={"numIter": 100000, "stopFactor": 1e30}, on_points=20)
    end = next((e for e in events if e["type"] == "end"), None)
    assert end is not None and end["reason"] == "cancelled", err[-2000:]
    assert len(re.findall(r"rank \d of 2 stopped after \d+ steps \(cancelled\)", err)) == 2, err[-2000:]
    assert not group_alive(pgid)
    assert tree_hash(workspace) == before


def test_a_rank_that_fails_is_named(workspace, tmp_path):
    src = (workspace / "train_ddp.py").read_text()
    (workspace / "train_ddp.py").write_text(src.replace("            opt.step()\n", "            opt.step()\n            if rank == 1 and epoch == 1:\n                raise RuntimeError('rank 1 ran out of data')\n"))
    code, events, err, pgid = run_sweep(workspace, tmp_path)
    errors = [e for e in events if e["type"] == "error"]
    assert errors and errors[0]["rank"] == 1, events[-3:]
    assert "rank 1 of 2" in errors[0]["message"] and "ran out of data" in errors[0]["message"]
    assert not group_alive(pgid)
