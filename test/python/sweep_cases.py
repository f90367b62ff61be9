"""The sweeps the tests run, and a small pool that runs them two at a time while the tests check the results.

A test module registers `Case`s at import; the tests are parametrized by case name; conftest.py notes which cases
the selected tests need and the `sweeps` fixture starts them all (in the order the tests come) as soon as the first
test asks, so the sweeps (subprocesses) overlap with each other and with the hand-written references (in-process).
"""
from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from harness import REPO, Result, run_sweep, tree_hash

SCRIPTS = Path(__file__).resolve().parent / "scripts"
DATA = {
    "iris": REPO / "examples" / "iris" / "iris.csv",
    "digits": REPO / "examples" / "digits-cnn" / "digits.csv",
}


@dataclass
class Case:
    name: str
    files: list  # (source, destination in the workspace); a source is relative to scripts/, or a Path
    cmd: list
    cwd: str = "."  # relative to the workspace
    settings: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    setup: Optional[Callable[[Path], None]] = None  # prepares the workspace before it is hashed
    on_event: Optional[Callable[[dict, Any], None]] = None
    timeout: float = 120
    modes: bool = False  # compare permission bits too
    request: dict = field(default_factory=dict)  # more fields of the run request (verify)


@dataclass
class Ran:
    case: Case
    workspace: Path
    before: dict
    result: Result

    def after(self) -> dict:
        return tree_hash(self.workspace, modes=self.case.modes)


CASES: dict = {}


def register(*cases: Case) -> list:
    for c in cases:
        if c.name in CASES:
            raise ValueError("duplicate case " + c.name)
        CASES[c.name] = c
    return [c.name for c in cases]


def make_workspace(case: Case, base: Path) -> Path:
    ws = base / case.name
    ws.mkdir(parents=True)
    for src, dst in case.files:
        src = src if isinstance(src, Path) else SCRIPTS / src
        target = ws / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(src, target)
    if case.setup is not None:
        case.setup(ws)
    return ws


class SweepPool:
    def __init__(self, base: Path, workers: int = 2):
        self.base = base
        self.executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sweep")
        self.futures: dict = {}
        self.lock = threading.Lock()

    def _run(self, case: Case) -> Ran:
        ws = make_workspace(case, self.base)
        before = tree_hash(ws, modes=case.modes)
        result = run_sweep(case.cmd, ws / case.cwd, root=ws, env=case.env, timeout=case.timeout,
                           on_event=case.on_event, request=case.request, **case.settings)
        return Ran(case, ws, before, result)

    def submit(self, names) -> None:
        with self.lock:
            for n in names:
                if n not in self.futures:
                    self.futures[n] = self.executor.submit(self._run, CASES[n])

    def get(self, name: str) -> Ran:
        self.submit([name])
        fut: Future = self.futures[name]
        return fut.result()

    def shutdown(self) -> None:
        for f in self.futures.values():
            f.cancel()
        self.executor.shutdown(wait=True)


def jobs() -> int:
    return int(os.environ.get("LR_FINDER_TEST_JOBS", "2"))
