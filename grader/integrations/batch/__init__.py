"""Batch grading: ``python -m grader batch SUBMISSIONS_DIR --out RESULTS_DIR``.

A submissions folder holds one file per student (``alice.py``, ``bob.ipynb``; the id is the stem)
or one folder per student (``carol/…``; the id is the folder name, and every other file in it is
copied beside the graded one into that student's sandbox). Each submission becomes one task whose
payload carries its files as data (versioned JSON), and whose result is its report as data:

    submissions.find_submissions ─▶ payload ─▶ workers.grade_payload (a slot: fork server + warm
                                                 retrainer; runners: threads or a Dask cluster)
                                        └─▶ result ─▶ results.Results (reports/<id>.json, .txt,
                                                      .html, gradescope/, grades.csv, timings.csv)

Results are written on this side as each one arrives, atomically; a record is reused by a later
run when its resume key (the submission's content hash, the grader version, the rubric's hash, the
data seed and the grading options) is unchanged, so a killed batch resumes where it stopped and
never grades twice; ``--only`` and ``--force`` regrade on request. ``command`` is the command
itself; ``progress`` its progress line.
"""

from grader.integrations.batch.command import (EXIT_DONE, EXIT_INCOMPLETE, RunFacts, main,
                                               run_batch)
from grader.integrations.batch.progress import Progress
from grader.integrations.batch.results import (Results, feedback_files, grades_csv, save_source,
                                               timings_csv, valid_result)
from grader.integrations.batch.submissions import (SCHEMA, Submission, find_submissions,
                                                   make_payload, read_files, resume_key, student_id)
from grader.integrations.batch.workers import Slot, grade_payload, grade_task

__all__ = ["EXIT_DONE", "EXIT_INCOMPLETE", "Progress", "Results", "RunFacts", "SCHEMA", "Slot",
           "Submission", "feedback_files", "find_submissions", "grade_payload", "grade_task",
           "grades_csv", "main", "make_payload", "read_files", "resume_key", "run_batch",
           "save_source", "student_id", "timings_csv", "valid_result"]
