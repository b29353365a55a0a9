"""A Gradescope autograder for this exercise: build the package, and run it on Gradescope.

Build (on the instructor's machine)::

    python -m grader gradescope-package autograder.zip [--rubric FILE] [--hints after_published]

Package layout (the zip's root becomes ``/autograder/source`` on Gradescope)::

    setup.sh           run once, as root, when Gradescope builds the image: installs Python and the
                       pinned dependencies (requirements.txt) into /opt/sentiment-grader/venv
    run_autograder     run for every submission: grades /autograder/submission/*, writes
                       /autograder/results/results.json
    rubric.toml        the rubric (validated when the package is built)
    settings.json      visibility of checks and hints, limits, the Python version
    requirements.txt   pyproject.toml's dependencies at this machine's exact versions
    sentiment-grader/  this grader's source (grader/ and pyproject.toml): what runs is exactly it
    README.md          how to upload it, and the memory and time it was measured to need

``run`` is what ``run_autograder`` calls; ``AUTOGRADER_ROOT`` (default ``/autograder``) and
``GRADER_PYTHON`` let a test run it in a temporary folder laid out like ``/autograder`` with any
Python that has the dependencies. Grading on Gradescope's default machine (768 MB, half a vCPU)
runs the student's script first and retrains afterwards (never both at once), so that the two
TensorFlow processes are never in memory together. A submission that cannot be graded still gets
a proper results.json with a score of 0 and a message.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Callable

from grader.version import __version__
from grader.exercise import default_name as default_exercise_name, get as get_exercise
from grader.files import atomic_write
from grader.options import Parser, add_rubric_option, load_rubric_or_usage, positive, usage_error
from grader.reporters.gradescope import VISIBILITIES

PROG = "python -m grader gradescope-package"
SCHEMA = 1
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # grader/
REPO_ROOT = PACKAGE_ROOT.parent
VENV = "/opt/sentiment-grader/venv"
DISTRIBUTION = "sentiment-grader"  # pyproject.toml's [project] name
# not dependencies of ours, but pinned too: jax and numba need these at matching versions
COMPANIONS = ("jaxlib", "llvmlite")
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")  # name, [extras]
# Gradescope's defaults: 768 MB of memory, 0.5 vCPU, 10 minutes (at most 40).
GRADESCOPE_MEMORY_MB, GRADESCOPE_CPUS, GRADESCOPE_TIMEOUT_MINUTES = 768, 0.5, 10
# Measured with benchmarks/bench_gradescope.py (run_autograder under a 768 MB, 0.5-CPU cgroup on
# this project's 2-core machine, TensorFlow 2.21, Keras 3.15) on the default exercise's reference
# solution and a failing file of it: written into the package's README.
MEASURED = {
    "solution": {"peak_mb": 412, "anonymous_mb": 398, "seconds": 46},
    "failing": {"peak_mb": 412, "anonymous_mb": 396, "seconds": 48},
    "smallest_limit_mb": 450,  # both also graded correctly under this limit (1 CPU)
}

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (the network is
# available here, and only here). It installs Python {python} and the exact versions this grader
# was tested with (requirements.txt) into {venv}. The grader itself is not installed: run_autograder
# runs the copy in sentiment-grader/, so what grades is exactly what this package holds.
set -euxo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates
# uv installs Python {python} whatever Ubuntu's python3 is (22.04 has 3.10, 24.04 has 3.12)
python3 -m venv /opt/sentiment-grader/bootstrap
/opt/sentiment-grader/bootstrap/bin/pip install --quiet uv
UV=/opt/sentiment-grader/bootstrap/bin/uv
"$UV" python install {python}
"$UV" venv --python {python} {venv}
"$UV" pip install --python {venv}/bin/python -r "$SOURCE/requirements.txt"
# a failure here fails the image build, not a student's submission
PYTHONPATH="$SOURCE/sentiment-grader" {venv}/bin/python -c "import grader.pipeline, tensorflow, keras"
# the retrain's numba loops, compiled once into the image rather than in every grading
PYTHONPATH="$SOURCE/sentiment-grader" {venv}/bin/python -c "import grader.retrain.mlp as m; m.precompile()"
chmod +x "$SOURCE/run_autograder"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder. It grades the files in
# /autograder/submission and writes /autograder/results/results.json (always, even when the
# submission cannot be graded). AUTOGRADER_ROOT and GRADER_PYTHON let a test run it elsewhere.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GRADER_PYTHON:-%s/bin/python}"
export PYTHONPATH="$ROOT/source/sentiment-grader"
export TF_CPP_MIN_LOG_LEVEL=3
cd "$ROOT"
exec "$PYTHON" -m grader.integrations.gradescope_autograder run --root "$ROOT"
""" % VENV


# --- building the package ---------------------------------------------------------------------


class DependencyError(Exception):
    """The grader's dependencies cannot be found (no pyproject.toml and not installed)."""


def dependencies() -> list[str]:
    """The grader's own requirements, without extras: pyproject.toml's ``[project]
    dependencies`` in a checkout (the one source of truth; an installed copy's metadata can be
    older), else the installed distribution's."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if pyproject.is_file():
        from grader.rubric import tomllib

        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DependencyError(f"cannot read the grader's dependencies from {pyproject}: "
                                  f"{exc}") from None
        if project.get("name") == DISTRIBUTION:
            return list(project.get("dependencies", []))
    try:
        found = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise DependencyError(f"cannot tell the grader's dependencies: no pyproject.toml in "
                              f"{REPO_ROOT} and {DISTRIBUTION} is not installed") from None
    return [r for r in found if not re.search(r"\bextra\s*==", r.partition(";")[2])]


def requirements() -> str:
    """The dependencies at the exact versions installed here (what the grader was tested
    with), each with its environment marker; one not installed here keeps its own specifier."""
    lines = []
    for requirement in [*dependencies(), *COMPANIONS]:
        name, extras = _NAME.match(requirement).groups()
        marker = requirement.partition(";")[2].strip()
        try:
            pinned = f"{name}{extras or ''}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            lines.append(requirement.strip())
            continue
        lines.append(f"{pinned}; {marker}" if marker else pinned)
    return "\n".join(lines) + "\n"


def _measured_text(exercise_name: str) -> str:
    """What the README says of the measured memory and time (measured on the default
    exercise: another exercise's package says so)."""
    solution, failing = MEASURED["solution"], MEASURED["failing"]
    if solution["peak_mb"] is None:
        return "Not measured yet: run `python benchmarks/bench_gradescope.py`."
    fits = max(solution["peak_mb"], failing["peak_mb"]) < GRADESCOPE_MEMORY_MB
    longest = max(solution["seconds"], failing["seconds"])
    text = (f"Measured with `benchmarks/bench_gradescope.py` (run_autograder in a folder laid out "
            f"like /autograder, in a cgroup limited to {GRADESCOPE_MEMORY_MB} MB and "
            f"{GRADESCOPE_CPUS:g} CPU, like Gradescope's default machine): the reference solution "
            f"peaked at {solution['peak_mb']:.0f} MB ({solution['anonymous_mb']:.0f} MB of it "
            f"anonymous memory) and took {solution['seconds']:.0f} s; a failing submission (two "
            f"hidden layers) {failing['peak_mb']:.0f} MB ({failing['anonymous_mb']:.0f} MB) and "
            f"{failing['seconds']:.0f} s. Both were also graded correctly under a "
            f"{MEASURED['smallest_limit_mb']} MB limit. The student's script runs first and the "
            "grader's retrain after it, so their two TensorFlow processes never share the memory. "
            "In a fresh container the file pages of TensorFlow's libraries come on top of these "
            "figures; they are page cache, which the kernel reclaims under the limit.")
    measured = default_exercise_name()
    if exercise_name != measured:  # no claim that the defaults are enough for an unmeasured model
        return text + (f" These figures are the {measured} exercise's; this package's exercise "
                       f"({exercise_name}) was not measured: try a submission on Gradescope's "
                       "default machine, and raise its memory if the results say it ran out.")
    if fits and longest < GRADESCOPE_TIMEOUT_MINUTES * 60 * 0.5:
        text += " Gradescope's default memory (768 MB) and CPU (0.5) are enough."
    else:
        text += (" Raise in Gradescope's autograder settings: "
                 + ("the memory to 1.0 GB or more" if not fits else "")
                 + (" and " if not fits and longest >= 300 else "")
                 + ("the CPU to 1.0 or more" if longest >= 300 else "") + ".")
    return text


def _timeout_text(settings: dict, rubric) -> str:
    """Gradescope's timeout must cover the worst case: a script that runs to its limit, then a
    retrain that takes all of its own."""
    worst = settings["timeout"] + rubric.limits.train_timeout_seconds + 60
    minutes = int(-(-worst // 60))
    if minutes <= GRADESCOPE_TIMEOUT_MINUTES:
        return (f"The worst case (the script's {settings['timeout']:g} s limit, the retrain's "
                f"{rubric.limits.train_timeout_seconds:g} s, about 60 s of start-up) fits "
                f"Gradescope's default timeout of {GRADESCOPE_TIMEOUT_MINUTES} minutes.")
    return (f"Set Gradescope's autograder timeout to {minutes} minutes (the default is "
            f"{GRADESCOPE_TIMEOUT_MINUTES}, the maximum 40): in the worst case a script runs to its "
            f"{settings['timeout']:g} s limit and the retrain then takes its "
            f"{rubric.limits.train_timeout_seconds:g} s, plus about 60 s of start-up. Or build the "
            f"package with a shorter `--timeout` (the solution's script needs well under a "
            f"minute there).")


def package_readme(settings: dict, rubric) -> str:
    exercise = get_exercise(rubric.exercise_name)
    return f"""\
# Gradescope autograder: {exercise.title} (grader {__version__})

Upload this zip as a Gradescope "Programming Assignment" autograder (Configure Autograder →
Zip file upload, base image: Ubuntu). Students upload `{exercise.stem}.py` or
`{exercise.stem}.ipynb` (any single `.py`/`.ipynb`; other files, such as helper modules, are
copied beside it into the sandbox).

- Rubric: `rubric.toml` ({rubric.max_score:g} points, hash {rubric.short_hash}, data seed
  {rubric.data.seed}). Set the assignment's total points to {rubric.max_score:g}.
- Results: one test per check (score, max score, passed/failed, message). Checks are
  `{settings['visibility']}`; hints (how to fix a failed check) are `{settings['hints']}`.
- Limits inside the container: the student's script gets {settings['timeout']:g} s and
  {settings['memory_mb']} MB; the grader's retrain {rubric.limits.train_timeout_seconds:g} s.
- Setup installs Python {settings['python']} and `requirements.txt` (exact versions) once, when
  Gradescope builds the image; grading itself needs no network.

## Memory and time

{_measured_text(rubric.exercise_name)}

{_timeout_text(settings, rubric)}

## Testing it on your machine

    mkdir -p /tmp/ag/source /tmp/ag/submission /tmp/ag/results
    unzip autograder.zip -d /tmp/ag/source
    cp my_submission.py /tmp/ag/submission/
    AUTOGRADER_ROOT=/tmp/ag GRADER_PYTHON=$(which python) /tmp/ag/source/run_autograder
    cat /tmp/ag/results/results.json
"""


def _source_files() -> list[tuple[str, Path]]:
    """The grader's source and the exercises' packages, as the package holds them."""
    import exercises

    files = []
    for root in (PACKAGE_ROOT, Path(exercises.__file__).resolve().parent):
        files += [(f"sentiment-grader/{root.name}/{path.relative_to(root).as_posix()}", path)
                  for path in sorted(root.rglob("*"))
                  if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]
    if (REPO_ROOT / "pyproject.toml").is_file():
        files.append(("sentiment-grader/pyproject.toml", REPO_ROOT / "pyproject.toml"))
    return files


def build_package(out: Path, rubric, *, visibility: str = "visible", hints: str | None = None,
                  timeout: float | None = None, memory_mb: int | None = None) -> dict:
    """Write the autograder zip to ``out`` (atomically); its settings."""
    settings = {"schema": SCHEMA, "grader_version": __version__, "visibility": visibility,
                "hints": hints or visibility,
                "timeout": float(timeout or rubric.limits.timeout_seconds),
                "memory_mb": int(memory_mb or rubric.limits.memory_mb),
                "python": f"{sys.version_info.major}.{sys.version_info.minor}",
                "exercise": rubric.exercise_name}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes | str, executable: bool = False) -> None:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data.encode() if isinstance(data, str) else data)

        add("setup.sh", SETUP_SH.format(python=settings["python"], venv=VENV), executable=True)
        add("run_autograder", RUN_AUTOGRADER, executable=True)
        add("rubric.toml", rubric.source)
        add("settings.json", json.dumps(settings, indent=2) + "\n")
        add("requirements.txt", requirements())
        add("README.md", package_readme(settings, rubric))
        for name, path in _source_files():
            add(name, path.read_bytes())
    atomic_write(out, buffer.getvalue())
    return settings


# --- running on Gradescope --------------------------------------------------------------------


def _sequential_retrainer(rubric):
    """A retrainer that starts only when the result is asked for: the script's sandbox and the
    retrain never hold TensorFlow in memory at the same time (Gradescope's 768 MB)."""
    from grader.retrain.client import Retrainer

    class Sequential(Retrainer):
        _allowed = False

        def start(self) -> None:
            if self._allowed:
                super().start()

        def speculate(self, request: dict) -> None:
            pass

        def result(self, request: dict, *args, **kwargs):
            self._allowed = True
            return super().result(request, *args, **kwargs)

    return Sequential(rubric, None)


def _locate(submission: Path, stem: str) -> tuple[Path, str | None, str]:
    """The folder and the file to grade in Gradescope's submission folder, and a note or why not."""
    from grader.sources import SUFFIXES, choose_file, folder_files

    files = [name for name, _ in folder_files(submission)] if submission.is_dir() else []
    top = [name for name in files if "/" not in name and name.endswith(SUFFIXES)]
    graded, note = choose_file(top, stem)
    if graded is None and not top:  # an uploaded folder: one candidate anywhere will do
        deep = [name for name in files if name.endswith(SUFFIXES)]
        found, deep_note = choose_file(deep, stem)
        if found is not None:
            folder, name = Path(found).parent, Path(found).name
            return submission / folder, name, deep_note
        note = deep_note if deep else "no .py or .ipynb file was uploaded"
    return submission, graded, note


def grade_submission(submission: Path, rubric, settings: dict):
    """The report for Gradescope's submission folder (never raises for a student)."""
    from grader.options import with_limits
    from grader.core.options import GradeOptions
    from grader.pipeline import grade
    from grader.report import failure_report
    from grader.sources import SourceError, helper_files

    stem = get_exercise(rubric.exercise_name).stem
    folder, graded, note = _locate(submission, stem)
    if graded is None:
        return failure_report("(no file)", f"not graded: {note}",
                              f"upload {stem}.py or {stem}.ipynb", rubric, note="not graded")
    try:
        extra = helper_files(folder, graded)
    except SourceError as exc:
        return failure_report(graded, f"not graded: {exc}", "upload only your code", rubric,
                              note="not graded")
    options = GradeOptions(timeout=settings["timeout"], memory_mb=settings["memory_mb"],
                           use_cache=False)
    rubric = with_limits(rubric, options)  # messages name the package's limits
    retrainer = _sequential_retrainer(rubric)
    try:
        with tempfile.TemporaryDirectory(prefix="gradescope-") as temporary:
            path = Path(temporary) / Path(graded).name
            path.write_bytes((folder / graded).read_bytes())
            return grade(path, options, rubric=rubric, retrainer=retrainer, extra_files=extra)
    finally:
        retrainer.close()


def run(root: Path, clock: Callable[[], float] = time.monotonic) -> dict:
    """Grade ``root/submission`` with the package in ``root/source``; write and return
    ``root/results/results.json``."""
    from grader.reporters import gradescope, terminal
    from grader.rubric import RubricError, load_rubric

    started = clock()
    source = Path(root) / "source"
    results_path = Path(root) / "results" / "results.json"
    try:
        settings = json.loads((source / "settings.json").read_text(encoding="utf-8"))
        rubric = load_rubric(source / "rubric.toml", settings.get("exercise"))
    except (OSError, ValueError, RubricError) as exc:
        data = {"score": 0, "output": f"The autograder package is broken ({exc}); tell your "
                                      "instructor.", "output_format": "text",
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
        atomic_write(results_path, json.dumps(data, indent=2) + "\n")
        print(data["output"])
        return data
    from grader.pipeline import guarded

    _, (data, text) = guarded(
        "(your submission)", rubric,
        lambda: grade_submission(Path(root) / "submission", rubric, settings),
        lambda report: (gradescope.results(report.to_dict(), visibility=settings["visibility"],
                                           hints=settings["hints"],
                                           execution_time=clock() - started),
                        terminal.render(report)))
    atomic_write(results_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(text)  # Gradescope shows stdout to instructors only
    return data


# --- the commands -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Build a Gradescope autograder .zip: setup.sh, "
                    "run_autograder, the rubric and this grader's source, pinned.")
    parser.add_argument("out", type=Path, metavar="OUT.zip", help="the zip to write")
    add_rubric_option(parser)
    parser.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                        help="when students see the checks (default: visible)")
    parser.add_argument("--hints", choices=VISIBILITIES,
                        help="when students see how to fix failed checks (default: with the "
                             "checks; after_published holds them until you publish grades)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit for the student's script (default: the rubric's)")
    parser.add_argument("--memory-mb", type=int, metavar="MB",
                        help="memory limit for the student's script (default: the rubric's; "
                             "Gradescope's container limit applies too)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m grader gradescope-package OUT.zip``."""
    args = _parser().parse_args(argv)
    problem = positive(args, "timeout", "memory_mb")
    if problem:
        return usage_error(PROG, problem)
    if args.out.suffix != ".zip":
        return usage_error(PROG, f"expected a .zip file to write, got {args.out.name}")
    rubric = load_rubric_or_usage(PROG, args.rubric, args.exercise)
    if isinstance(rubric, int):
        return rubric
    try:
        settings = build_package(args.out, rubric, visibility=args.visibility, hints=args.hints,
                                 timeout=args.timeout, memory_mb=args.memory_mb)
    except OSError as exc:
        return usage_error(PROG, f"cannot write {args.out}: {exc.strerror or exc}")
    except DependencyError as exc:
        return usage_error(PROG, str(exc))
    print(f"wrote {args.out}: upload it as the assignment's autograder (total points "
          f"{rubric.max_score:g}; checks {settings['visibility']}, hints {settings['hints']}; "
          f"Python {settings['python']})")
    return 0


def _run_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.integrations.gradescope_autograder run")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    run(args.root)
    return 0  # results.json says how it went; Gradescope needs nothing else


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        sys.exit(_run_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
