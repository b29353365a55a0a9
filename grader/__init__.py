"""Teaches and grades the Keras sentiment-classifier exercise.

Kept import-free on purpose: the sandboxed probe imports this package too, and `--help` must be fast.
"""

__version__ = "0.1.0"
