"""The retrain's switches, read from the environment in one place and refused when unknown.

``GRADER_RETRAIN_BACKEND`` is the Keras backend the worker rebuilds models on (``jax``, the default,
or ``tensorflow``: Keras' own ``fit``, the reference that benchmarks compare with);
``GRADER_RETRAIN_ENGINE`` is ``numpy`` (the default: the exercise's plain MLPs train on the NumPy
path) or ``keras`` (every model trains with Keras itself). Both travel in the worker's setup, so a
daemon's spare worker serves only gradings that asked for its settings, and both are part of the
retrain cache's key.
"""

from __future__ import annotations

import os

CHOICES = {"GRADER_RETRAIN_BACKEND": ("jax", "tensorflow"),
           "GRADER_RETRAIN_ENGINE": ("numpy", "keras")}


class SettingError(ValueError):
    """A switch is set to a value the retrain does not have."""


def retrain_settings(environ=None) -> dict[str, str]:
    """``{"backend": ..., "engine": ...}`` as the environment sets them (defaults when unset or
    empty); raises ``SettingError`` naming the variable, its value and the choices."""
    environ = os.environ if environ is None else environ
    chosen = {}
    for variable, choices in CHOICES.items():
        value = environ.get(variable) or choices[0]
        if value not in choices:
            raise SettingError(f"{variable}={value!r} is not one of {', '.join(choices)} "
                               f"(unset means {choices[0]})")
        chosen[variable.rsplit("_", 1)[1].lower()] = value
    return chosen


def setting_problem() -> str | None:
    """The message for an unknown setting, or None: for commands to refuse before grading."""
    try:
        retrain_settings()
    except SettingError as exc:
        return str(exc)
    return None
