"""Teaches and grades the Keras sentiment-classifier exercise.

Kept import-free on purpose: the sandboxed probe imports this package too, and `--help` must be fast.
``grader.check`` (grade the notebook a Jupyter cell runs in: ``grader.notebook_check``) is imported
when first used.
"""

__version__ = "0.1.0"
__all__ = ["check"]


def __getattr__(name):
    if name == "check":
        from grader.notebook_check import check

        return check
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
