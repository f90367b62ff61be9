#!/usr/bin/env python3
"""What the script engine's Python hook (python/sitecustomize.py + python/lr_finder_hook/) costs a training script.

1. Overhead per optimizer step. train.py (a plain loop: zero_grad, forward, loss.backward(), optimizer.step(), Adam,
   torch.set_num_threads(1)) runs as the user would run it and under the hook, exactly as the front end launches it
   (src/engines/torch/launch.ts scriptLaunch: the hook folder first on PYTHONPATH, PYTHONDONTWRITEBYTECODE=1,
   PYTHONUNBUFFERED=1, the trackers' quiet settings, LR_FINDER_REQUEST, LR_FINDER_PROTOCOL_FD, LR_FINDER_MAIN_PID='').
   The sweep never ends during the measurement (numIter above the steps run, stopFactor 1e30), and this process reads
   and parses every protocol line as the front end does. The protocol descriptor is a Unix socket pair, which is what
   Node's spawn gives for a 'pipe' stdio entry (libuv), or an os.pipe() with --channel pipe.
   Two workloads: an MLP 784-256-128-10, batch 64 (a realistic step), and Linear(1,1), batch 1 (about the smallest step
   torch makes, where the hook's own cost shows; a few hundred microseconds with Adam on Debian's torch 1.13). A figure is the median over all timed blocks (--repeats blocks of
   --steps steps after --warmup steps, in each of --procs processes per condition; the processes of the two
   conditions alternate, so that other load on the machine, which changes over minutes, hits both alike).
   overhead = median hooked time per step - median plain time per step, with its standard error; also from each
   condition's fastest block and from the script's CPU time.
2. Start-up. From spawning `python train.py` until the first `point` line arrives on the protocol channel (the hook),
   against the same script without the hook until its marker line (printed right after its first optimizer.step())
   arrives on stdout. Median of --startup-runs each, alternating, after one untimed launch that warms the page cache.
   Also the CPU time the script has used by the end of its first step (plain and hooked): less sensitive to load.

Prints a table, or with --json one JSON object. Needs torch in --python (default /usr/bin/python3).

Usage: bench_hook.py [--json] [--python PATH] [--channel socket|pipe] [--workload mlp,tiny] [--startup-runs N]
                     [--{mlp,tiny}-procs N] [--{mlp,tiny}-repeats N] [--{mlp,tiny}-steps N]
                     [--{mlp,tiny}-warmup N] [--budget-us N] [--no-startup]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HOOK_DIR = os.path.join(REPO, "python")
TRAIN = os.path.join(HERE, "train.py")
MARKER = "LRF_BENCH_FIRST_STEP"
RESULT = "LRF_BENCH_RESULT "

# src/engines/torch/launch.ts QUIET_TRACKERS
QUIET_TRACKERS = {
    "WANDB_MODE": "disabled", "WANDB_DISABLED": "true", "DISABLE_MLFLOW_INTEGRATION": "TRUE", "COMET_MODE": "disabled",
    "NEPTUNE_MODE": "debug", "CLEARML_OFFLINE_MODE": "1",
}

WORKLOADS = {
    "mlp": "MLP 784-256-128-10, batch 64, Adam",
    "tiny": "Linear(1,1), batch 1, Adam",
}


class BenchError(RuntimeError):
    pass


def base_env():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LR_FINDER_"):
            del env[k]
    env["OPENBLAS_NUM_THREADS"] = "1"  # torch.set_num_threads does not reach a pthreads OpenBLAS
    return env


def hook_env(env, root, num_iter, fd):
    """scriptLaunch's environment on top of the user's."""
    out = dict(QUIET_TRACKERS)
    out.update(env)
    user_path = env.get("PYTHONPATH")
    out["PYTHONPATH"] = os.pathsep.join([HOOK_DIR] + ([user_path] if user_path else []))
    out["PYTHONDONTWRITEBYTECODE"] = "1"
    out["PYTHONUNBUFFERED"] = "1"
    out["LR_FINDER_REQUEST"] = json.dumps({
        "startLr": 1e-7, "endLr": 10, "numIter": num_iter, "mode": "exponential", "stopFactor": 1e30,
        "smoothing": 0.98, "root": root, "seedOffset": 0, "allowLoad": False,
    })
    out["LR_FINDER_PROTOCOL_FD"] = str(fd)
    out["LR_FINDER_MAIN_PID"] = ""
    return out


class Run:
    """One launch of train.py: its stdout lines and protocol events, each with the time since the spawn."""

    def __init__(self):
        self.t_spawn = None
        self.first_marker = None
        self.first_marker_cpu = None
        self.first_hello = None
        self.first_point = None
        self.points = 0
        self.events = {}
        self.end = None
        self.error = None
        self.result = None
        self.returncode = None
        self.stderr = ""
        self.seconds = None


def launch(python, workspace, args, hooked, channel, num_iter, timeout=1800):
    """Run train.py (copied into `workspace`, which is also the hook's root and the cwd) and wait for it."""
    run = Run()
    env = base_env()
    parent_end = child_end = None
    pass_fds = ()
    if hooked:
        if channel == "pipe":
            parent_end, child_end = os.pipe()
        else:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            parent_end, child_end = a.detach(), b.detach()
        os.set_inheritable(child_end, True)
        pass_fds = (child_end,)
        env = hook_env(env, workspace, num_iter, child_end)
    script = os.path.join(workspace, "train.py")
    run.t_spawn = time.perf_counter()
    try:
        proc = subprocess.Popen([python, script] + args, cwd=workspace, env=env, pass_fds=pass_fds,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        if child_end is not None:
            os.close(child_end)

    def read_protocol():
        buf = b""
        while True:
            chunk = os.read(parent_end, 1 << 16)
            if not chunk:
                break
            now = time.perf_counter()
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                ev = json.loads(line)  # parsed, as the front end does
                t = ev.get("type")
                run.events[t] = run.events.get(t, 0) + 1
                if t == "point":
                    run.points += 1
                    if run.first_point is None:
                        run.first_point = now - run.t_spawn
                elif t == "hello" and run.first_hello is None:
                    run.first_hello = now - run.t_spawn
                elif t == "end":
                    run.end = ev
                elif t == "error":
                    run.error = ev
        os.close(parent_end)

    def read_stdout():
        for raw in proc.stdout:
            now = time.perf_counter()
            line = raw.decode("utf-8", "replace")
            if line.startswith(MARKER) and run.first_marker is None:
                run.first_marker = now - run.t_spawn
                run.first_marker_cpu = float(line.split()[1])
            elif line.startswith(RESULT):
                run.result = json.loads(line[len(RESULT):])

    def read_stderr():
        run.stderr = proc.stderr.read().decode("utf-8", "replace")

    threads = [threading.Thread(target=read_stdout, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
    if hooked:
        threads.append(threading.Thread(target=read_protocol, daemon=True))
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise BenchError("train.py %s did not finish in %d s" % (" ".join(args), timeout))
    for t in threads:
        t.join(timeout=30)
    run.seconds = time.perf_counter() - run.t_spawn
    run.returncode = proc.returncode
    if proc.returncode != 0:
        tail = run.stderr.strip().splitlines()[-3:]
        raise BenchError("train.py %s%s exited with %d: %s" % ("(hooked) " if hooked else "", " ".join(args),
                                                             proc.returncode, " | ".join(tail)))
    if hooked:
        # The script ends before the sweep's numIter steps (on purpose): the hook then says "ended-early".
        if run.error is not None and run.error.get("code") != "ended-early":
            raise BenchError("the hook reported an error: %s" % json.dumps(run.error))
        if run.end is not None and run.end.get("reason") != "completed":
            raise BenchError("the sweep ended during the measurement: %s" % json.dumps(run.end))
    return run


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def measure_overhead(python, workspace, name, steps, repeats, warmup, procs, channel, log):
    args = ["--model", name, "--steps", str(steps), "--repeats", str(repeats), "--warmup", str(warmup)]
    total = 1 + warmup + steps * repeats
    num_iter = max(100000, 2 * total)  # never reached: the sweep must not end during the measurement
    per_step = {"plain": [], "hooked": []}
    cpu_per_step = {"plain": [], "hooked": []}
    points = []
    for p in range(procs):
        for cond in ("plain", "hooked"):
            log("  %s: %s, process %d/%d ..." % (name, cond, p + 1, procs))
            run = launch(python, workspace, args, cond == "hooked", channel, num_iter)
            if run.result is None:
                raise BenchError("train.py printed no result (%s)" % cond)
            for b in run.result["blocks"]:
                per_step[cond].append(b["seconds"] / b["steps"])
                cpu_per_step[cond].append(b["cpuSeconds"] / b["steps"])
            if cond == "hooked":
                if run.points != total:
                    raise BenchError("expected %d points from the hook, got %d" % (total, run.points))
                points.append(run.points)
    med = {c: median(v) for c, v in per_step.items()}
    cpu = {c: median(v) for c, v in cpu_per_step.items()}
    # Standard error of a median (normal approximation: 1.2533 sigma / sqrt(n)), of the difference of the two.
    sem = lambda v: 1.2533 * statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else float("nan")
    noise = (sem(per_step["plain"]) ** 2 + sem(per_step["hooked"]) ** 2) ** 0.5
    return {
        "workload": name,
        "description": WORKLOADS[name],
        "steps": steps, "repeats": repeats, "warmup": warmup, "procs": procs,
        "plainStepsPerSecond": 1 / med["plain"],
        "hookedStepsPerSecond": 1 / med["hooked"],
        "plainUsPerStep": med["plain"] * 1e6,
        "hookedUsPerStep": med["hooked"] * 1e6,
        "overheadUsPerStep": (med["hooked"] - med["plain"]) * 1e6,
        "overheadNoiseUs": noise * 1e6,
        # the fastest block of each condition: the least disturbed by other load on the machine
        "overheadFastestUsPerStep": (min(per_step["hooked"]) - min(per_step["plain"])) * 1e6,
        "plainCpuUsPerStep": cpu["plain"] * 1e6,
        "hookedCpuUsPerStep": cpu["hooked"] * 1e6,
        "cpuOverheadUsPerStep": (cpu["hooked"] - cpu["plain"]) * 1e6,
        "overheadPercent": (med["hooked"] / med["plain"] - 1) * 100,
        # the spread of the blocks, to judge whether a difference is more than noise
        "plainUsPerStepRange": [min(per_step["plain"]) * 1e6, max(per_step["plain"]) * 1e6],
        "hookedUsPerStepRange": [min(per_step["hooked"]) * 1e6, max(per_step["hooked"]) * 1e6],
        "blocks": {c: [round(v * 1e6, 2) for v in per_step[c]] for c in per_step},
        "pointsPerRun": points,
    }


def measure_startup(python, workspace, runs, channel, log):
    args = ["--model", "mlp", "--steps", "1", "--repeats", "1", "--warmup", "0"]
    log("  start-up: warming the page cache ...")
    launch(python, workspace, args, True, channel, 100)
    plain, hooked_point, hooked_hello, hooked_marker, plain_cpu, hooked_cpu = [], [], [], [], [], []
    for i in range(runs):
        log("  start-up: run %d/%d ..." % (i + 1, runs))
        r = launch(python, workspace, args, False, channel, 100)
        if r.first_marker is None:
            raise BenchError("the plain run printed no first-step marker")
        plain.append(r.first_marker)
        plain_cpu.append(r.first_marker_cpu)
        r = launch(python, workspace, args, True, channel, 100)
        if r.first_point is None:
            raise BenchError("the hooked run sent no point")
        hooked_point.append(r.first_point)
        hooked_hello.append(r.first_hello)
        hooked_marker.append(r.first_marker)
        hooked_cpu.append(r.first_marker_cpu)
    return {
        "workload": "mlp",
        "runs": runs,
        "plainFirstStepSeconds": median(plain),
        "hookedFirstPointSeconds": median(hooked_point),
        "hookedHelloSeconds": median(hooked_hello),
        "hookedFirstStepMarkerSeconds": median(hooked_marker),
        "differenceSeconds": median(hooked_point) - median(plain),
        # CPU time the script has used when its first optimizer.step() returns (less sensitive to other load)
        "plainFirstStepCpuSeconds": median(plain_cpu),
        "hookedFirstStepCpuSeconds": median(hooked_cpu),
        "cpuDifferenceSeconds": median(hooked_cpu) - median(plain_cpu),
        "plain": [round(x, 4) for x in plain],
        "hookedFirstPoint": [round(x, 4) for x in hooked_point],
    }


def hook_digest():
    """A short digest of the hook's Python files, so that figures can be tied to the hook they measured."""
    import hashlib

    h = hashlib.sha1()
    for base, dirs, files in sorted(os.walk(HOOK_DIR)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                p = os.path.join(base, f)
                h.update(os.path.relpath(p, HOOK_DIR).encode() + b"\0")
                with open(p, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()[:12]


def torch_version(python):
    r = subprocess.run([python, "-c", "import torch, sys; print(torch.__version__); print(sys.version.split()[0])"],
                       capture_output=True, text=True, env=base_env())
    if r.returncode != 0:
        return None
    lines = r.stdout.split()
    return lines[0], lines[1]


def fmt(x, digits=1):
    if x is None or x != x:
        return "-"
    return ("%." + str(digits) + "f") % x


def print_table(out):
    w = sys.stdout.write
    w("Script hook (python/lr_finder_hook, files digest %s): PyTorch %s, Python %s (%s), 1 thread, protocol over a "
      "%s\n" % (out["hookDigest"], out["torch"], out["pythonVersion"], out["python"],
                "Unix socket pair" if out["channel"] == "socket" else "pipe"))
    rows = [["workload", "plain steps/s", "hooked steps/s", "plain µs/step", "hooked µs/step", "overhead µs/step",
             "overhead", "fastest blocks", "CPU time"]]
    for r in out["overhead"]:
        rows.append([r["description"], fmt(r["plainStepsPerSecond"]), fmt(r["hookedStepsPerSecond"]),
                     fmt(r["plainUsPerStep"]), fmt(r["hookedUsPerStep"]),
                     "%s ± %s" % (fmt(r["overheadUsPerStep"]), fmt(r["overheadNoiseUs"])),
                     fmt(r["overheadPercent"]) + "%", fmt(r["overheadFastestUsPerStep"]), fmt(r["cpuOverheadUsPerStep"])])
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        line = lambda row: "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        w(line(rows[0]) + "\n" + "  ".join("-" * x for x in widths) + "\n")
        for row in rows[1:]:
            w(line(row) + "\n")
        w("  overhead = median hooked - median plain time per step (± its standard error); fastest blocks: the same "
          "from each condition's fastest block;\n  CPU time: the same from the script's CPU time per step\n")
        for r in out["overhead"]:
            w("  %s: %d blocks of %d steps per condition (%d process(es) x %d, after %d warm-up steps each, plain and "
              "hooked processes alternating); block range plain %s-%s, hooked %s-%s µs/step\n"
              % (r["workload"], r["repeats"] * r["procs"], r["steps"], r["procs"], r["repeats"], r["warmup"],
                 fmt(r["plainUsPerStepRange"][0]), fmt(r["plainUsPerStepRange"][1]),
                 fmt(r["hookedUsPerStepRange"][0]), fmt(r["hookedUsPerStepRange"][1])))
        b = out["budget"]
        w("  budget %d µs/step: %s (the hook's own cost: the overhead on %s, ± 2 standard errors)\n"
          % (b["us"], {"within": "within", "over": "OVER",
                       "inconclusive": "inconclusive, the noise is too large (machine busy?)"}[b["verdict"]],
             b["workload"]))
    s = out.get("startup")
    if s:
        w("Start-up (the MLP script, spawn to first step, median of %d): plain first step %s s; hooked hello %s s, "
          "first point %s s; difference %+.3f s\n" % (s["runs"], fmt(s["plainFirstStepSeconds"], 3),
                                                      fmt(s["hookedHelloSeconds"], 3),
                                                      fmt(s["hookedFirstPointSeconds"], 3), s["differenceSeconds"]))
        w("  CPU time of the script at its first step: plain %s s, hooked %s s, difference %+.3f s\n"
          % (fmt(s["plainFirstStepCpuSeconds"], 3), fmt(s["hookedFirstStepCpuSeconds"], 3), s["cpuDifferenceSeconds"]))
    w("  load average %.2f before, %.2f after (other processes skew the figures)\n" % tuple(out["loadAverage"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3")
    ap.add_argument("--channel", choices=("socket", "pipe"), default="socket")
    ap.add_argument("--workload", default="mlp,tiny")
    # per workload: processes per condition (alternating plain, hooked), timed blocks per process, steps per block,
    # warm-up steps per process
    ap.add_argument("--mlp-procs", type=int, default=5)
    ap.add_argument("--mlp-repeats", type=int, default=1)
    ap.add_argument("--mlp-steps", type=int, default=500)
    ap.add_argument("--mlp-warmup", type=int, default=30)
    ap.add_argument("--tiny-procs", type=int, default=8)
    ap.add_argument("--tiny-repeats", type=int, default=20)
    ap.add_argument("--tiny-steps", type=int, default=500)
    ap.add_argument("--tiny-warmup", type=int, default=500)
    ap.add_argument("--startup-runs", type=int, default=3)
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--budget-us", type=float, default=60)
    args = ap.parse_args()
    log = (lambda s: None) if args.json else (lambda s: sys.stderr.write(s + "\n"))

    versions = torch_version(args.python)
    if versions is None:
        msg = "%s cannot import torch" % args.python
        if args.json:
            print(json.dumps({"skipped": msg}))
        else:
            print("Script hook: skipped, " + msg)
        return 0
    workloads = [w for w in args.workload.split(",") if w]
    for name in workloads:
        if name not in WORKLOADS:
            ap.error("unknown workload %s (%s)" % (name, ", ".join(WORKLOADS)))

    load_before = os.getloadavg()[0]
    workspace = tempfile.mkdtemp(prefix="lr-finder-hook-bench-")
    try:
        shutil.copy(TRAIN, os.path.join(workspace, "train.py"))
        overhead = []
        for name in workloads:
            log("script hook: %s ..." % WORKLOADS[name])
            procs, repeats, steps, warmup = {
                "mlp": (args.mlp_procs, args.mlp_repeats, args.mlp_steps, args.mlp_warmup),
                "tiny": (args.tiny_procs, args.tiny_repeats, args.tiny_steps, args.tiny_warmup),
            }[name]
            overhead.append(measure_overhead(args.python, workspace, name, steps, repeats, warmup, procs,
                                             args.channel, log))
        startup = None
        if not args.no_startup:
            log("script hook: start-up ...")
            startup = measure_startup(args.python, workspace, args.startup_runs, args.channel, log)
    except BenchError as e:
        if args.json:
            print(json.dumps({"error": str(e)}))
        else:
            print("Script hook: failed: %s" % e)
        return 1
    finally:
        shutil.rmtree(workspace, ignore_errors=True)

    # The hook's own cost: the overhead where the step itself is smallest (the trivial model when it ran).
    ref = next((r for r in overhead if r["workload"] == "tiny"), overhead[-1] if overhead else None)
    verdict = None
    if ref:
        o, n = ref["overheadUsPerStep"], ref["overheadNoiseUs"]
        # 2 standard errors: a verdict only when the noise cannot turn it around
        verdict = "within" if o + 2 * n <= args.budget_us else "over" if o - 2 * n > args.budget_us else "inconclusive"
    out = {
        "python": args.python, "torch": versions[0], "pythonVersion": versions[1], "threads": 1,
        "channel": args.channel, "hookDigest": hook_digest(),
        "overhead": overhead,
        "budget": {"us": args.budget_us, "workload": ref["workload"] if ref else None, "verdict": verdict,
                   "ok": verdict == "within"},
        "startup": startup,
        "loadAverage": [load_before, os.getloadavg()[0]],
    }
    if args.json:
        print(json.dumps(out))
    else:
        print_table(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
