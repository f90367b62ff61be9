"""LR Finder's way into the user's own Python, loaded because the front end puts this folder first on PYTHONPATH.

It installs the range-test hook only when LR_FINDER_REQUEST is set (and only in the process that sees it first),
then runs the sitecustomize the environment already had (Debian's apport hook, a conda or virtualenv one), so that
nothing else about the user's interpreter changes.
"""
import os
import sys


def _run_original_sitecustomize():
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the environment's own sitecustomize failing must not stop the script either
        sys.stderr.write("LR Finder: the environment's sitecustomize (%s) failed: %r\n" % (spec.origin, e))


if os.environ.get("LR_FINDER_REQUEST"):
    try:
        import lr_finder_hook

        lr_finder_hook.install()
    except Exception as e:
        sys.stderr.write("LR Finder: could not install the range-test hook: %r\n" % (e,))
        raise

_run_original_sitecustomize()
