"""The data that crosses the grader's boundaries: typed, frozen, versioned where it is written out.

``observation`` (what the sandbox saw), ``request`` (what the trusted retrain trains), ``results``
(what it gave), ``report`` (the graded submission), ``options`` (how to grade), ``similarity``
(a class compared). Every module here imports only the standard library and nothing else of
``grader``, so any part of the grader, a reporter or the retrain worker can import it without
pulling in TensorFlow, NumPy's compilers or a circle (``tests/test_layout.py`` asserts both).
"""
