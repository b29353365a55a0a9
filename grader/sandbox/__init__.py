"""Everything that runs beside student code, and the supervisor that watches it.

Trust: ``probe`` runs inside the student's interpreter, so nothing it writes is believed: the
supervisor (``supervisor.run_script``) only collects it as raw, signed event lines, and
``grader.observation`` validates every value. ``confine`` and ``forkserver`` run before the
student's code starts and never after it. This package imports no TensorFlow at import time.
"""

from grader.sandbox.supervisor import Limits, SandboxRun, run_script, start_probe

__all__ = ["Limits", "SandboxRun", "run_script", "start_probe"]
