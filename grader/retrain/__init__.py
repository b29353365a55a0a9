"""The trusted retrain: never runs student code, and validates every config it is given.

``client`` is the grading process's side (requests, cache, limits); ``worker`` is the separate
process that rebuilds an allowed model from its config (``allowlist``) and trains it on the
grader's own data with the rubric's seed. Nothing here trusts the sandbox's events: they reach it
only as configs that ``allowlist`` checks class by class and value by value.
"""
