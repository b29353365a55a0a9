"""The data that crosses the grader's boundaries: typed, frozen, versioned where it is written out.

``options`` (how to grade), ``rubric`` (points, protocol, data and limits of an exercise),
``observation`` (what the sandbox saw), ``request`` (what the trusted retrain trains), ``results``
(what the retrain, each check and each bonus challenge found), ``report`` (the graded
submission), ``similarity`` (a class compared). Every module here imports only the standard
library and nothing else of ``grader``, so any part of the grader, a reporter, an exercise or the
retrain worker can import it without pulling in TensorFlow, NumPy's compilers or a circle
(``tests/test_layout.py`` asserts both).
"""
