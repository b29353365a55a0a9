"""``python -m grader similarity RESULTS_DIR [--rubric FILE] [--boilerplate FILE]``.

Reads a batch's results (never re-runs a submission), writes ``similarity.csv`` and
``similarity.html`` beside them and prints the top pairs. Exit status 0, or 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.options import EXIT_PASSED, Parser, load_rubric_or_usage, usage_error

PROG = "python -m grader similarity"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="List the pairs and clusters of submissions in a batch's results that look "
                    "alike, on code and on architecture: evidence for a person to read, never a "
                    "verdict. Reads reports/ and sources/ (runs nothing); writes similarity.csv "
                    "and similarity.html into RESULTS_DIR.")
    parser.add_argument("results", type=Path, metavar="RESULTS_DIR",
                        help="the --out folder of `python -m grader batch`")
    parser.add_argument("--exercise", metavar="NAME",
                        help="the exercise graded (its rubric's [similarity] table and template)")
    parser.add_argument("--rubric", type=Path, metavar="TOML",
                        help="another rubric file (its [similarity] table)")
    parser.add_argument("--boilerplate", type=Path, action="append", default=[], metavar="FILE",
                        help="more code that does not count, e.g. the exercise sheet (.md: its "
                             "Python blocks); repeatable")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not args.results.is_dir():
        return usage_error(PROG, f"no such folder: {args.results}")
    for path in args.boilerplate:
        if not path.is_file():
            return usage_error(PROG, f"no such boilerplate file: {path}")
    rubric = load_rubric_or_usage(PROG, args.rubric, args.exercise)
    if isinstance(rubric, int):
        return rubric
    from grader import similarity
    from grader.reporters import similarity_html, similarity_text

    try:
        result, students = similarity.analyse(args.results, rubric.similarity, args.boilerplate)
        written = similarity.write_files(args.results, result,
                                         similarity_html.render(result, students))
    except similarity.SimilarityError as exc:
        return usage_error(PROG, str(exc))
    except OSError as exc:
        return usage_error(PROG, f"cannot write into {args.results}: {exc.strerror or exc}")
    print(similarity_text.render(result))
    print("Wrote " + ", ".join(str(path) for path in written))
    return EXIT_PASSED
