"""pytest setup for the script-engine tests: /usr/bin/python3 -m pytest -q -p no:cacheprovider test/python

The sweeps run in subprocesses under the hook (harness.run_sweep), two at a time (LR_FINDER_TEST_JOBS); the
hand-written reference range tests run in this process, which never loads the hook.
"""
import sys

sys.dont_write_bytecode = True  # the references import the test scripts; leave no __pycache__ in the repository

import pytest  # noqa: E402

import sweep_cases  # noqa: E402

_selected: list = []


def pytest_configure(config):
    config.addinivalue_line("markers", "sweep(name): the test reads the sweep case `name` (started in advance)")


def pytest_collection_modifyitems(session, config, items):
    """Note the cases the selected tests need, in test order, so the `sweeps` fixture can start them all at once."""
    for item in items:
        cs = getattr(item, "callspec", None)
        names = [cs.params.get("case")] if cs is not None else []
        names += [m.args[0] for m in item.iter_markers("sweep")]
        for name in names:
            if isinstance(name, str) and name in sweep_cases.CASES and name not in _selected:
                _selected.append(name)


@pytest.fixture(scope="session")
def sweeps(tmp_path_factory):
    pool = sweep_cases.SweepPool(tmp_path_factory.mktemp("workspaces"), workers=sweep_cases.jobs())
    pool.submit(_selected)
    yield pool
    pool.shutdown()
