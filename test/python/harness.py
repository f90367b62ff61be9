"""Run a command under the script engine exactly as the front end does, and read what it says.

The contract (docs/script-engine.md): the user's command runs unchanged, with this repository's `python/` folder first
on PYTHONPATH, PYTHONDONTWRITEBYTECODE=1, the request as JSON in LR_FINDER_REQUEST and the write end of a pipe in
LR_FINDER_PROTOCOL_FD; the hook writes one JSON event per line to that pipe (hello, point..., end | error, report).

Nothing here knows how the hook works: it only starts the process, reads the pipe and parses the lines.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[2]
HOOK_DIR = REPO / "python"
PYTHON = os.environ.get("LR_FINDER_TEST_PYTHON", "/usr/bin/python3")

DEFAULT_SETTINGS = {
    "startLr": 1e-7,
    "endLr": 10,
    "numIter": 100,
    "mode": "exponential",
    "stopFactor": 4,
    "smoothing": 0.98,
    "seedOffset": 0,
    "allowLoad": False,
}

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, None: math.nan}


def sweep_settings(**overrides: Any) -> dict:
    unknown = set(overrides) - set(DEFAULT_SETTINGS)
    if unknown:
        raise TypeError("unknown sweep settings: %s" % sorted(unknown))
    s = dict(DEFAULT_SETTINGS)
    s.update(overrides)
    return s


def _number(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if v in _NON_FINITE:
        return _NON_FINITE[v]
    raise ValueError("not a protocol number: %r" % (v,))


@dataclass
class Result:
    events: list = field(default_factory=list)
    hello: Optional[dict] = None
    points: list = field(default_factory=list)
    end: Optional[dict] = None
    error: Optional[dict] = None
    report: Optional[dict] = None
    returncode: Optional[int] = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    bad_lines: list = field(default_factory=list)
    timed_out: bool = False

    @property
    def lrs(self) -> list:
        return [p["lr"] for p in self.points]

    @property
    def losses(self) -> list:
        return [p["loss"] for p in self.points]

    @property
    def reason(self) -> Optional[str]:
        return self.end["reason"] if self.end else None

    def describe(self) -> str:
        """Everything worth reading when an assertion fails."""
        tail = lambda s: s if len(s) < 4000 else "...\n" + s[-4000:]
        head = [e for e in self.events if e.get("type") != "point"]
        return (
            "returncode=%r timed_out=%r points=%d seconds=%.1f\nevents (without points): %s\nbad lines: %r\n"
            "--- stdout ---\n%s\n--- stderr ---\n%s"
            % (self.returncode, self.timed_out, len(self.points), self.seconds, json.dumps(head, indent=1)[:6000],
               self.bad_lines, tail(self.stdout), tail(self.stderr))
        )


def _resolve(cmd: list) -> list:
    cmd = [str(c) for c in cmd]
    if cmd and cmd[0] in ("python", "python3"):
        cmd = [PYTHON] + cmd[1:]
    return cmd


def run_sweep(
    cmd: list,
    cwd,
    root=None,
    env: Optional[dict] = None,
    timeout: float = 120,
    *,
    on_event: Optional[Callable[[dict, subprocess.Popen], None]] = None,
    request: Optional[dict] = None,
    **settings: Any,
) -> Result:
    """Run `cmd` (a leading "python"/"python3" is replaced by the test interpreter) in `cwd` under the hook.

    root: the workspace folder (default: cwd). env: extra environment variables (a value of None removes one).
    settings: startLr, endLr, numIter, mode, stopFactor, smoothing, seedOffset, allowLoad (fastai's defaults).
    on_event(event, proc) is called from the reader thread for every event as it arrives (e.g. to send SIGTERM).
    request: more fields of the run request (e.g. {"verify": {...}}).
    """
    cwd = Path(cwd).resolve()
    root = Path(root).resolve() if root is not None else cwd
    extra = request
    request = sweep_settings(**settings)
    request.update(extra or {})
    request["root"] = str(root)

    full_env = dict(os.environ)
    for k in ("LR_FINDER_REQUEST", "LR_FINDER_PROTOCOL_FD", "LR_FINDER_MAIN_PID", "PYTHONHOME"):
        full_env.pop(k, None)
    if env:
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = str(v)
    pp = full_env.get("PYTHONPATH")
    full_env["PYTHONPATH"] = str(HOOK_DIR) + (os.pathsep + pp if pp else "")
    full_env["PYTHONDONTWRITEBYTECODE"] = "1"
    full_env["LR_FINDER_REQUEST"] = json.dumps(request)

    r_fd, w_fd = os.pipe()
    full_env["LR_FINDER_PROTOCOL_FD"] = str(w_fd)
    result = Result()
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            _resolve(cmd), cwd=str(cwd), env=full_env, pass_fds=[w_fd], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    finally:
        os.close(w_fd)

    def read_protocol() -> None:
        with os.fdopen(r_fd, "rb") as f:
            for raw in f:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                    if not isinstance(ev, dict) or "type" not in ev:
                        raise ValueError("not an event")
                except ValueError:
                    result.bad_lines.append(line)
                    continue
                result.events.append(ev)
                if on_event is not None:
                    try:
                        on_event(ev, proc)
                    except Exception as e:  # a test callback failing must not hang the reader
                        result.bad_lines.append("on_event raised %r" % (e,))

    reader = threading.Thread(target=read_protocol, daemon=True)
    reader.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    # DataLoader workers or other children may still hold the pipe for a moment after the main process exits.
    reader.join(timeout=15)
    if reader.is_alive():
        result.bad_lines.append("protocol pipe still open 15 s after the process ended (a child holds it)")
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reader.join(timeout=5)
    result.seconds = time.monotonic() - t0
    result.returncode = proc.returncode
    result.stdout = out.decode("utf-8", "replace")
    result.stderr = err.decode("utf-8", "replace")

    for ev in result.events:
        t = ev.get("type")
        if t == "hello":
            result.hello = result.hello or ev
        elif t == "point":
            p = dict(ev)
            p["lr"] = _number(ev.get("lr"))
            p["loss"] = _number(ev.get("loss"))
            result.points.append(p)
        elif t == "end":
            result.end = ev
        elif t == "error":
            result.error = result.error or ev
        elif t == "report":
            result.report = ev
    return result


def tree_hash(folder, modes: bool = False) -> dict:
    """Every file under `folder` (hidden ones included) -> sha256 of its bytes; every directory -> "<dir>";
    a symlink -> "<link> target". Two equal results mean a byte-identical tree (contents, names, folders).
    With modes=True each value also carries the permission bits (" mode 644")."""
    folder = Path(folder)
    out: dict = {}
    mode = (lambda p: " mode %o" % stat.S_IMODE(os.lstat(p).st_mode)) if modes else (lambda p: "")
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        rel_dir = os.path.relpath(dirpath, folder)
        for d in list(dirnames):
            p = os.path.join(dirpath, d)
            rel = os.path.normpath(os.path.join(rel_dir, d))
            if os.path.islink(p):
                out[rel] = "<link> " + os.readlink(p)
                dirnames.remove(d)
            else:
                out[rel + "/"] = "<dir>" + mode(p)
        for name in filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(p):
                out[rel] = "<link> " + os.readlink(p)
                continue
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out[rel] = h.hexdigest() + mode(p)
    return out


def tree_diff(before: dict, after: dict, limit: int = 40) -> str:
    """A readable difference of two tree_hash results ('' when identical), at most `limit` lines."""
    lines = []
    for k in sorted(set(before) | set(after)):
        if k not in after:
            lines.append("removed: " + k)
        elif k not in before:
            lines.append("added:   " + k)
        elif before[k] != after[k]:
            lines.append("changed: " + k)
    if len(lines) > limit:
        lines = lines[:limit] + ["... and %d more" % (len(lines) - limit)]
    return "\n".join(lines)
