"""The exercises this repository ships, one package each (``grader.exercise`` finds them).

``DEFAULT`` is the exercise a command grades when none is named.
"""

DEFAULT = "sentiment"
