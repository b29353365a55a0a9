"""What a batch grades: the submissions a folder holds (one file or one folder per student),
their ids, their files and resume keys, and the payload each task carries as versioned JSON."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader.version import __version__
from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.exercise import get as get_exercise
from grader.sources import MAX_FOLDER_BYTES, SKIPPED_DIRS, SUFFIXES, choose_file, folder_files

Clock = Callable[[], float]
SCHEMA = 1  # the payload's and the result's version


@dataclass(frozen=True)
class Submission:
    """One student's files, and which one is graded (None when that cannot be decided)."""

    student: str
    files: tuple[tuple[str, Path], ...]  # (name inside the sandbox, path on disk), sorted
    graded: str | None
    folder: bool = False
    note: str = ""
    problem: str = ""
    entry: str = ""  # top-level entries that are no submission (``grace.txt``): nothing is read

    @property
    def display(self) -> str:
        """How reports name it: ``alice.py``, ``carol/sentiment_classifier.py`` or ``grace.txt``."""
        if self.entry:
            return self.entry
        return f"{self.student}/{self.graded or ''}" if self.folder else (self.graded or "")


def _not_a_submission(path: Path) -> str:
    """Why a top-level entry is not graded ("" when it is a submission)."""
    if path.is_symlink():  # never followed: it could point at another student's files
        return f"{path.name} is a symbolic link; submit the file or folder itself"
    if not (path.is_dir() or path.is_file() and path.suffix in SUFFIXES):
        return f"{path.name} is not a .py, .ipynb or a folder"
    return ""


MAX_ID_BYTES = 150  # results files are named after the id (``reports/<id>.html``, temporary
# ``.<id>.html.<pid>.<thread>.tmp``) and a file name holds at most 255 bytes


def student_id(name: str) -> str:
    """The student id of an entry named ``name`` (a file's stem or a folder's name): the name
    itself, or for one too long to name the results files, its start and a hash of it."""
    raw = os.fsencode(name)
    if len(raw) <= MAX_ID_BYTES:
        return name
    short = name[:MAX_ID_BYTES]
    while len(os.fsencode(short)) > MAX_ID_BYTES - 12:
        short = short[:-1]
    return f"{short}~{digest(raw)[:10]}"


def find_submissions(folder: Path, stem: str | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder``, sorted by student id, and the entries that were skipped;
    in a student's folder of several files, the one named ``stem`` (default: the default
    exercise's) is graded.

    A top-level entry that is no submission (another kind of file, a symbolic link) is a
    submission with nothing to grade, named by its stem, so that its student gets a row that
    says why; it is only skipped when a real submission has the same id (``alice.txt`` beside
    ``alice.py``).
    """
    entries: dict[str, list[Submission]] = {}
    strays: dict[str, list[tuple[str, str]]] = {}  # id -> (entry, why it is not graded)
    skipped = []
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or path.name in SKIPPED_DIRS:
            continue
        why = _not_a_submission(path)
        if why:
            student = student_id(path.name if path.is_dir() else path.stem)
            strays.setdefault(student, []).append((path.name, why))
        elif path.is_dir():
            files = folder_files(path)
            top = [name for name, _ in files if "/" not in name and name.endswith(SUFFIXES)]
            graded, note = choose_file(top, stem or get_exercise().stem)
            problem = "" if graded else note
            size = sum(p.stat().st_size for _, p in files)
            if graded and size > MAX_FOLDER_BYTES:
                graded, problem = None, (f"the folder holds {size // 2**20} MB; a submission may "
                                         f"hold at most {MAX_FOLDER_BYTES // 2**20} MB")
            student = student_id(path.name)
            entries.setdefault(student, []).append(
                Submission(student, tuple(files), graded, True, note if graded else "", problem))
        else:
            student = student_id(path.stem)
            entries.setdefault(student, []).append(
                Submission(student, ((path.name, path),), path.name))
    for student, found in strays.items():
        if student in entries:
            skipped += [name for name, _ in found]
        else:
            entries[student] = [Submission(student, (), None, problem="; ".join(
                why for _, why in found), entry=", ".join(name for name, _ in found))]
    submissions = []
    for student, found in sorted(entries.items()):
        if len(found) == 1:
            submissions.append(found[0])
            continue
        names = [f"{student}/" if f.folder else f.display for f in found]
        files = tuple(sorted({item for f in found for item in f.files}))
        submissions.append(Submission(student, files, None, True, problem=(
            f"several submissions for {student} ({', '.join(names)}): keep one")))
    return submissions, sorted(skipped)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submission_stem(rubric: Rubric) -> str:
    return get_exercise(rubric.exercise_name).stem


def resume_key(submission: Submission, contents: dict[str, bytes], rubric,
               options: GradeOptions) -> str:
    """Content hash of every file, grader version, rubric hash, data seed and grading options."""
    manifest = {"schema": SCHEMA, "grader": __version__, "rubric": rubric.sha256,
                "seed": int(rubric.data["seed"]), "options": options.grading_key(),
                "graded": submission.graded,
                "files": [[name, digest(contents[name])] for name, _ in submission.files]}
    if submission.problem:  # not graded: the row says why, so a new reason is a new row
        manifest["problem"] = submission.problem
    return digest(json.dumps(manifest, sort_keys=True).encode())


def read_files(submission: Submission) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in submission.files}


def make_payload(submission: Submission, contents: dict[str, bytes], key: str, rubric: Rubric,
                 options: GradeOptions) -> dict:
    """Everything a worker needs to grade one submission, as JSON-ready data."""
    return {"schema": SCHEMA, "student": submission.student, "display": submission.display,
            "graded": submission.graded, "key": key,
            "files": {name: base64.b64encode(data).decode() for name, data in contents.items()},
            "rubric": base64.b64encode(rubric.source).decode(), "exercise": rubric.exercise_name,
            "options": options.to_json()}
