"""The sweep where the training runs: a real single-node Slurm (scripts/slurm/start.sh: Debian's slurm-wlm and munge,
localhost only), driven through the lr-finder CLI as a user would (`lr-finder run train.py --launcher "srun ..."` or
`--launcher "sbatch ..."`). srun with 1 and 2 tasks (a gloo process group from SLURM_PROCID/SLURM_NTASKS), a batch
job (status events while it waits, the protocol read from the job's file, the job visible in squeue), cancel (SIGTERM
to the CLI: srun passes it on; a batch job is scancel'ed and waited for), and nothing left: squeue empty, no python.

Skipped only when Slurm is not installed (CI installs it: apt-get install slurm-wlm munge). The times from starting
the CLI to the first point are printed at the end of the session."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import PYTHON, tree_hash

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = HERE / "scripts" / "slurm" / "train_slurm.py"
CLI = REPO / "bin" / "lr-finder.js"
NODE = os.environ.get("LR_FINDER_TEST_NODE") or shutil.which("node") or "node"
TIMES = {}


@pytest.fixture(scope="session")
def slurm(request):
    """The cluster, up (started here unless it already was, and then stopped here); its environment."""
    missing = [c for c in ("slurmctld", "slurmd", "munged", "srun", "sbatch", "squeue", "scancel") if not shutil.which(c)]
    if missing:
        pytest.skip("Slurm is not installed (%s missing): apt-get install -y --no-install-recommends slurm-wlm munge"
                    % ", ".join(missing))
    assert (REPO / "dist" / "cli.js").exists(), "dist/cli.js is missing: npm run build"
    r = subprocess.run(["bash", str(REPO / "scripts" / "slurm" / "start.sh"), "--print-conf"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "scripts/slurm/start.sh failed:\n" + r.stderr[-4000:]
    started = "already running" not in r.stderr
    env = dict(os.environ, SLURM_CONF=r.stdout.strip().splitlines()[-1])
    for k in [k for k in env if k.startswith(("LR_FINDER_", "SLURM_JOB", "SLURM_STEP", "SLURM_PROCID", "SLURM_NTASKS"))]:
        del env[k]
    assert not squeue(env), "jobs are already in the queue: %s" % squeue(env)
    yield env
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter and capture and TIMES:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nSlurm: CLI start to first point: " + ", ".join("%s %.1f s" % kv for kv in TIMES.items()))
    if started:
        subprocess.run(["bash", str(REPO / "scripts" / "slurm" / "stop.sh")], capture_output=True, timeout=60)


def squeue(env, *args):
    r = subprocess.run(["squeue", "-h", "-o", "%i|%T|%j", *args], env=env, capture_output=True, text=True, timeout=30)
    return [line for line in r.stdout.splitlines() if line.strip()]


@pytest.fixture
def ws(tmp_path, slurm):
    """A workspace with the training script, and a jobs folder of its own (so that leftovers can be seen)."""
    w = tmp_path / "ws"
    w.mkdir()
    shutil.copy(SCRIPT, w / "train_slurm.py")
    jobs = tmp_path / "jobs"
    env = dict(slurm, LR_FINDER_JOBS_DIR=str(jobs))
    return w, env, jobs


class Cli:
    """`lr-finder run train_slurm.py --launcher ... --json`, read as it goes: events (stdout), stderr, timings."""

    def __init__(self, ws, env, launcher, *extra, script_args=(), cancel_after=None, on_event=None, json_out=True, on_stderr=None):
        self.cmd = [NODE, str(CLI), "run", str(ws / "train_slurm.py"), "--python", PYTHON, "--launcher", launcher,
                    *(["--json"] if json_out else []), *extra, "--", *script_args]
        self.events, self.err, self.times = [], [], []
        self.t0 = time.time()
        self.first_point = None
        self.proc = subprocess.Popen(self.cmd, cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.cancelled_at = None

        def read_out():
            for line in self.proc.stdout:
                if not line.strip() or not json_out:
                    continue
                e = json.loads(line)
                self.events.append(e)
                self.times.append(time.time() - self.t0)
                if e["type"] == "point" and self.first_point is None:
                    self.first_point = time.time() - self.t0
                if on_event:
                    on_event(e, self)
                if cancel_after and self.cancelled_at is None and sum(1 for x in self.events if x["type"] == "point") >= cancel_after:
                    self.cancelled_at = time.time()
                    self.proc.send_signal(signal.SIGTERM)

        def read_err():
            for line in self.proc.stderr:
                self.err.append(line)
                if on_stderr:
                    on_stderr(line, self)

        self.threads = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
        for t in self.threads:
            t.start()

    def wait(self, timeout=120):
        try:
            self.code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the CLI did not finish within %d s:\n%s" % (timeout, self.describe()))
        self.exited_at = time.time()
        for t in self.threads:
            t.join(10)
        return self

    def at(self, event):
        """Seconds from the start of the CLI to this event."""
        return next(t for e, t in zip(self.events, self.times) if e is event)

    def of(self, kind):
        return [e for e in self.events if e["type"] == kind]

    @property
    def stderr(self):
        return "".join(self.err)

    def describe(self):
        head = [e for e in self.events if e["type"] != "point"]
        return "cmd: %s\nevents (without points): %s\n--- stderr ---\n%s" % (
            " ".join(self.cmd), json.dumps(head)[:4000], self.stderr[-4000:])


def left_running(ws):
    """Processes (not zombies) whose command line names the workspace: the script's tasks."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % d, "rb").read().replace(b"\0", b" ").decode(errors="replace")
            stat = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        if str(ws) in cmd and stat[stat.rindex(")") + 2] != "Z":
            out.append((int(d), cmd))
    return out


def queue_empties(env, seconds=10):
    """squeue has no job left (a job whose tasks are gone may show COMPLETING for a moment)."""
    deadline = time.time() + seconds
    while squeue(env) and time.time() < deadline:
        time.sleep(0.2)
    return squeue(env)


def stops(cli):
    return sorted(re.findall(r"LR Finder: rank (\d+) of (\d+) stopped after (\d+) steps \(([\w-]+)\)", cli.stderr))


def assert_curve(cli, world):
    assert cli.code == 0, cli.describe()
    hellos, points, ends = cli.of("hello"), cli.of("point"), cli.of("end")
    assert len(hellos) == 1 and len(ends) == 1 and cli.of("report"), cli.describe()  # rank 0 alone speaks
    assert len(points) == ends[0]["points"] >= 20, cli.describe()
    assert [p["iteration"] for p in points] == list(range(len(points)))
    assert ends[0]["reason"] in ("diverged", "completed")
    dist = hellos[0]["script"].get("distributed")
    if world == 1:
        assert dist is None, hellos[0]
    else:
        assert dist["worldSize"] == world and dist["backend"] == "gloo", hellos[0]
        # Every rank stopped at the same step, for the same reason.
        assert stops(cli) == [(str(k), str(world), str(ends[0]["points"]), ends[0]["reason"]) for k in range(world)], cli.describe()
    return ends[0]


def test_srun_one_task(ws):
    w, env, jobs = ws
    before = tree_hash(w)
    cli = Cli(w, env, "srun -N1 -n1").wait()
    assert_curve(cli, 1)
    TIMES["srun -n1"] = cli.first_point
    assert tree_hash(w) == before
    assert not left_running(w) and not queue_empties(env)
    assert not any(jobs.iterdir()), list(jobs.iterdir())  # the protocol file went with the run


def test_srun_two_tasks_one_process_group(ws):
    w, env, jobs = ws
    before = tree_hash(w)
    cli = Cli(w, env, "srun -N1 -n2").wait()
    end = assert_curve(cli, 2)
    assert cli.of("hello")[0]["script"]["distributed"]["launcher"] == "srun -N1 -n2"
    TIMES["srun -n2"] = cli.first_point
    assert end["points"] < 100  # this script diverges: the stop was the ranks' common decision
    assert tree_hash(w) == before
    assert not left_running(w) and not queue_empties(env)
    assert not any(jobs.iterdir()), list(jobs.iterdir())


def test_sbatch_two_tasks(ws):
    w, env, jobs = ws
    before = tree_hash(w)
    seen = {}

    def on_event(e, _cli):
        # While it runs, the job is in the queue under its id.
        if e["type"] == "point" and "queue" not in seen and "job" in seen:
            seen["queue"] = squeue(env, "-j", seen["job"])
        if e["type"] == "status":
            seen.setdefault("job", e["job"])
            seen.setdefault("states", []).append(e["state"])
            seen.setdefault("dir", [p for p in jobs.iterdir()])

    cli = Cli(w, env, "sbatch -N1 -n2 --time 5", on_event=on_event).wait()
    assert_curve(cli, 2)
    TIMES["sbatch -n2"] = cli.first_point
    job = seen["job"]
    assert re.fullmatch(r"\d+", job), seen
    # Status events came first (the runner's), then the engine's hello; the job ran under our id.
    kinds = [e["type"] for e in cli.events]
    assert kinds.index("status") < kinds.index("hello") and seen["states"][-1] == "running", seen
    assert any(line.startswith(job + "|RUNNING|lr-finder") for line in seen["queue"]), seen
    # The protocol came from the job's file in the jobs folder (shared home on a cluster), which is gone now.
    assert len(seen["dir"]) == 1 and seen["dir"][0].name.startswith("lr-finder-job-"), seen
    assert "submitted batch job %s" % job in cli.stderr and str(jobs) in cli.stderr
    assert not any(jobs.iterdir()), list(jobs.iterdir())
    assert not squeue(env, "-j", job), squeue(env, "-j", job)
    assert tree_hash(w) == before
    assert not left_running(w) and not queue_empties(env)


def endless():
    return ("--num-iter", "100000", "--stop-factor", "1000000"), ("--epochs", "100000")


def test_cancel_srun_ends_both_tasks(ws):
    w, env, jobs = ws
    before = tree_hash(w)
    flags, args = endless()
    cli = Cli(w, env, "srun -N1 -n2", *flags, script_args=args, cancel_after=20).wait()
    assert cli.cancelled_at, cli.describe()
    assert cli.code == 130, cli.describe()
    assert [e["reason"] for e in cli.of("end")] == ["cancelled"], cli.describe()
    assert [s[3] for s in stops(cli)] == ["cancelled", "cancelled"], cli.describe()
    assert cli.exited_at - cli.cancelled_at < 20
    assert not left_running(w), left_running(w)
    assert not queue_empties(env), squeue(env)
    assert tree_hash(w) == before
    assert not any(jobs.iterdir()), list(jobs.iterdir())


def test_cancel_sbatch_scancels_the_job(ws):
    w, env, jobs = ws
    before = tree_hash(w)
    flags, args = endless()
    seen = {}
    cli = Cli(w, env, "sbatch -N1 -n2", *flags, script_args=args, cancel_after=20,
              on_event=lambda e, _cli: seen.setdefault("job", e.get("job")) if e["type"] == "status" else None).wait()
    assert cli.code == 130, cli.describe()
    assert [e["reason"] for e in cli.of("end")] == ["cancelled"], cli.describe()
    assert [s[3] for s in stops(cli)] == ["cancelled", "cancelled"], cli.describe()
    # The CLI returned once the job had left the queue: no task, no job, no files.
    assert not left_running(w), left_running(w)
    assert not squeue(env, "-j", seen["job"]), squeue(env, "-j", seen["job"])
    state = subprocess.run(["scontrol", "show", "job", "-o", seen["job"]], env=env, capture_output=True, text=True).stdout
    assert "JobState=CANCELLED" in state, state
    assert not queue_empties(env), squeue(env)
    assert tree_hash(w) == before
    assert not any(jobs.iterdir()), list(jobs.iterdir())


def blocker(env, seconds):
    """A job holding every CPU of the node, so that the next one waits."""
    cpus = subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], env=env, capture_output=True, text=True).stdout.split()[0]
    r = subprocess.run(["sbatch", "--parsable", "-n", cpus, "-J", "blocker", "-o", "/dev/null", "--wrap", "sleep %d" % seconds],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    job = r.stdout.strip().split(";")[0]
    deadline = time.time() + 20
    while time.time() < deadline and not any(line.startswith(job + "|RUNNING") for line in squeue(env)):
        time.sleep(0.2)
    return job


def test_sbatch_pending_then_the_first_step_limit_counts_from_running(ws):
    """A job that waits for the node longer than the first-step limit (4 s): the CLI says it is pending and is not
    stopped; once the job runs, a script that takes long to start is stopped 4 s later, and the job is cancelled."""
    w, env, jobs = ws
    hold = blocker(env, 9)
    try:
        cli = Cli(w, env, "sbatch -n2", "--first-step-timeout", "4", script_args=("--load-seconds", "600")).wait(timeout=90)
        statuses = cli.of("status")
        assert [s["state"] for s in statuses][:1] == ["pending"] and statuses[-1]["state"] == "running", cli.describe()
        assert re.fullmatch(r"job \d+ is waiting for resources", statuses[0]["message"]), statuses
        assert "pending: job %s is waiting for resources" % statuses[0]["job"] not in cli.stderr  # --json: stdout only
        errors = cli.of("error")
        assert [e.get("code") for e in errors] == ["first-step-timeout"], cli.describe()
        running_at, error_at = cli.at(statuses[-1]), cli.at(errors[0])
        assert running_at > 5, (running_at, cli.describe())  # it was pending longer than the limit
        assert 3.5 < error_at - running_at < 8, (running_at, error_at)
        assert cli.code == 1 and not cli.of("point")
        job = statuses[0]["job"]
        assert not squeue(env, "-j", job), squeue(env, "-j", job)
        state = subprocess.run(["scontrol", "show", "job", "-o", job], env=env, capture_output=True, text=True).stdout
        assert "JobState=CANCELLED" in state, state
    finally:
        subprocess.run(["scancel", hold], env=env, capture_output=True)
    assert not left_running(w) and not queue_empties(env)
    assert not any(jobs.iterdir()), list(jobs.iterdir())


def test_cancel_while_pending_removes_the_job(ws):
    """The CLI as people use it (no --json): it prints that the job waits; a cancel then scancels the queued job."""
    w, env, jobs = ws
    hold = blocker(env, 60)
    try:
        seen = {}

        def on_stderr(line, cli):
            m = re.match(r"pending: job (\d+) is waiting for resources$", line.strip())
            if m and "job" not in seen:
                seen["job"] = m.group(1)
                seen["queue"] = squeue(env, "-j", m.group(1))
                cli.proc.send_signal(signal.SIGTERM)

        cli = Cli(w, env, "sbatch -n2", json_out=False, on_stderr=on_stderr).wait(timeout=60)
        assert seen.get("job"), cli.describe()
        assert any(line.startswith(seen["job"] + "|PENDING|lr-finder") for line in seen["queue"]), seen
        assert cli.code != 0 and "running: job" not in cli.stderr, cli.describe()
        assert not squeue(env, "-j", seen["job"]), squeue(env, "-j", seen["job"])
        assert not any(jobs.iterdir()), list(jobs.iterdir())
    finally:
        subprocess.run(["scancel", hold], env=env, capture_output=True)
    assert not left_running(w) and not queue_empties(env)
