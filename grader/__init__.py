"""Teaches and grades Keras exercises (``python -m grader exercises`` lists them).

Kept import-free on purpose: the sandboxed probe imports this package too, and `--help` must be fast.
``grader.check`` (grade the notebook a Jupyter cell runs in: ``grader.notebook_check``) and
``grader.__version__`` are imported when first used.
"""

__all__ = ["__version__", "check"]


def __getattr__(name):
    if name == "__version__":  # grader.version holds it, so that no module imports this face
        from grader.version import __version__

        return __version__
    if name == "check":
        from grader.notebook_check import check

        return check
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
