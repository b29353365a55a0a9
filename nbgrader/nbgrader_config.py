"""nbgrader settings for the sentiment-classifier course (run nbgrader from this directory).

The source notebook is generated: edit assignment/ and solution/ (or the rubric), then run
``python -m grader.make_notebook [--rubric FILE] --course .`` and
``nbgrader generate_assignment sentiment --force`` here. Autograding never runs a student's
notebook in a Jupyter kernel: ``GradeInSandbox`` takes the place of nbgrader's ``Execute`` step
and grades it in the grader's sandbox instead (see grader/integrations/nbgrader_autograde.py).
"""

from grader.integrations.nbgrader_autograde import autograde_preprocessors

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.course_id = "sentiment-classifier"

# The released notebook keeps each step's TODO comments and a stub that does not raise, so an
# untouched notebook runs to the end and is reported as "not started", like the .py template.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}

c.Autograde.autograde_preprocessors = autograde_preprocessors()

# One rubric everywhere: the file given to `python -m grader.make_notebook --rubric`. Autograde
# refuses (before grading anyone) when the gradebook's points are not this rubric's.
# c.GradeInSandbox.rubric_path = "strict.toml"

# Optional: limits and the retrain cache (defaults: the rubric's limits, ~/.cache/sentiment-grader).
# c.GradeInSandbox.timeout = 300
# c.GradeInSandbox.memory_mb = 4096
# c.GradeInSandbox.cache_dir = "/srv/grader-cache"
