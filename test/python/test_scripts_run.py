"""The test scripts are real training scripts: each one runs to its end without LR Finder (opt-in, it takes about a
minute: LR_FINDER_TEST_PLAIN=1)."""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import test_fidelity  # noqa: F401  (registers the cases)
from harness import PYTHON
from sweep_cases import make_workspace
from test_fidelity import FIDELITY

pytestmark = pytest.mark.skipif(not os.environ.get("LR_FINDER_TEST_PLAIN"), reason="set LR_FINDER_TEST_PLAIN=1")


@pytest.mark.parametrize("name", list(FIDELITY))
def test_script_runs_normally(name):
    case = FIDELITY[name][0]
    with tempfile.TemporaryDirectory() as base:
        ws = make_workspace(case, Path(base))
        cmd = [PYTHON if c in ("python", "python3") else c for c in case.cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LR_FINDER_")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        p = subprocess.run(cmd, cwd=ws / case.cwd, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
        assert not list(ws.rglob("__pycache__"))
