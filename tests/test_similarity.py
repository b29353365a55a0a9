"""Similar submissions across a class (``python -m grader similarity``).

``tests/similarity_class/`` is a synthetic class of 32 in different students' styles: honest
solutions (most of them the common 256 -> 128 -> 64 with the sheet's L2 and Dropout; template
fill-ins, lists, the functional API, build_model functions, loops over widths, CONFIG dicts, a
dropout-rate loop, notebooks) and six planted copies (``PLANTED``). Every file is real and runs.

Reports are built with the code that builds real ones (``report.build_report`` with the
architecture ``report.summarize_architecture`` made from the sandbox's observation, written by
``batch.Results`` and ``batch.save_source``). Running the sandbox for 32 files takes minutes, so the
architectures are recorded once in ``similarity_class/architectures.json``
(``python tests/test_similarity.py --regenerate``); the slow end-to-end test grades five of the
files with a real ``python -m grader batch`` and checks their reports say the same.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import cli, similarity
from grader.integrations import batch
from grader.integrations.batch import command as batch_command
from grader.core.results import CheckResult
from grader.report import build_report
from grader.reporters import similarity_html
from grader.core.rubric import SIMILARITY_DEFAULTS
from grader.rubric import RubricError, load_rubric
from sentiment_exercise import CHECK_IDS

ROOT = Path(__file__).resolve().parent.parent
CLASS = Path(__file__).resolve().parent / "similarity_class"
ARCHITECTURES = CLASS / "architectures.json"
TEMPLATE = ROOT / "assignment" / "sentiment_classifier.py"

# (original, copy): what the copier changed
PLANTED = {
    ("umar", "vera"): "every name renamed (variables, functions, arguments), comments reworded",
    ("wen", "xavier"): "independent lines reordered (imports, constants, data after the model)",
    ("yara", "zeno"): "comments changed and reformatted (black-style multi-line calls)",
    ("aiko", "bruno"): "a notebook copy of a .py (cells, a !pip cell, %matplotlib, outputs)",
    ("carla", "diego"): "one extra hidden layer (and its Dropout) added",
    ("emil", "farah"): "the same notebook, one !pip cell added, other outputs (the issue's case)",
}


def class_files() -> list[Path]:
    return sorted(p for p in CLASS.iterdir() if p.suffix in similarity.SOURCE_SUFFIXES)


def architectures() -> dict:
    return json.loads(ARCHITECTURES.read_text(encoding="utf-8"))["architectures"]


def write_results(out: Path, files: list[Path], archs: dict, accuracy: float = 0.9) -> list[str]:
    """A batch's RESULTS_DIR for ``files``, written by the batch's own writers; the ids."""
    rubric = load_rubric()
    results = batch.Results(out)
    order = []
    for path in files:
        student = path.stem
        submission = batch.Submission(student, ((path.name, path),), path.name)
        batch.save_source(out, submission, {path.name: path.read_bytes()})
        report = build_report(path.name, [CheckResult(c, True, "ok") for c in CHECK_IDS], rubric,
                              metrics={"test_accuracy": accuracy},
                              architecture=archs.get(student)).to_dict()
        results.add(student, {"schema": batch.SCHEMA, "student": student, "key": "k",
                              "final": True, "report": report, "seconds": 1.0, "worker": None,
                              "note": ""})
        order.append(student)
    results.write_tables(order, force=True)
    return order


@pytest.fixture(scope="module")
def class_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("class-results")
    write_results(out, class_files(), architectures())
    return out


@pytest.fixture(scope="module")
def class_result(class_results):
    result, students = similarity.analyse(class_results, load_rubric().similarity)
    return result, students


# --- the class: planted copies above every independent pair ------------------------------------


def test_the_class_is_at_least_20_real_submissions_in_many_styles():
    files = class_files()
    assert len(files) >= 20 and sum(p.suffix == ".ipynb" for p in files) >= 4
    texts = {p.stem: p.read_text(encoding="utf-8") for p in files}
    assert any("def build_model" in t for t in texts.values())
    assert any("keras.Model(" in t for t in texts.values())  # functional API
    assert any(re.search(r"for \w+ in \[256, 128, 64\]", t) for t in texts.values())
    assert set(architectures()) == {p.stem for p in files}
    assert all(architectures().values()), "every synthetic student builds a model"


def test_every_planted_pair_ranks_above_every_independent_pair(class_result):
    result, _ = class_result
    rubric = load_rubric()
    # every pair, not only those above the floor
    boilerplate, _ = similarity.read_boilerplate(rubric.similarity["boilerplate"])
    everything = similarity.compare(list(class_result[1].values()),
                                    {**rubric.similarity, "floor": 0.0}, boilerplate)
    planted = [p for p in everything.pairs if (p.a, p.b) in PLANTED]
    independent = [p for p in everything.pairs if (p.a, p.b) not in PLANTED]
    n = len(everything.students)
    assert len(planted) == len(PLANTED) and len(independent) == n * (n - 1) // 2 - len(PLANTED)
    print("\nplanted pairs:")
    for p in planted:
        print(f"  {p.score:.3f} (code {p.code_score:.3f}, architecture {p.architecture_score:.3f})"
              f"  {p.a} ~ {p.b}: {PLANTED[(p.a, p.b)]}")
    print("closest independent pairs:")
    for p in independent[:5]:
        print(f"  {p.score:.3f} (code {p.code_score:.3f}, architecture "
              f"{p.architecture_score:.3f})  {p.a} ~ {p.b}")
    assert min(p.score for p in planted) > max(p.score for p in independent)
    assert all(0.0 <= x <= 1.0 for p in everything.pairs
               for x in (p.code_score, p.architecture_score, p.score))


def test_the_threshold_flags_exactly_the_planted_pairs_as_clusters(class_result):
    result, _ = class_result
    assert {(p.a, p.b) for p in result.flagged()} == set(PLANTED)
    assert set(result.clusters) == set(PLANTED)


def test_the_common_architecture_alone_is_no_evidence(class_result):
    result, _ = class_result
    pairs = {(p.a, p.b): p for p in result.pairs}
    # renamed-variable copy of the common 256 -> 128 -> 64: the code carries it, not the model
    assert pairs[("umar", "vera")].architecture_score == 0.0
    assert pairs[("umar", "vera")].code_score > 0.95
    # the copied odd architecture: every rare choice shared, each said with its rarity
    wen = pairs[("wen", "xavier")]
    assert wen.architecture_score == 1.0
    labels = {s.label: s.students for s in wen.shared}
    assert labels["a Dense(384) layer"] == 2 and labels["make_classification(random_state=7)"] == 3
    assert labels["Adam(beta_1=0.85)"] == 2
    # the copy with one more layer still shares its rare choices, but not all of its model
    assert 0.3 < pairs[("carla", "diego")].architecture_score < 1.0
    assert "a layer named 'hidden_big'" in {s.label for s in pairs[("carla", "diego")].shared}


def test_rare_shared_choices_weigh_by_their_rarity_in_the_class():
    base = architectures()["amara"]
    odd = json.loads(json.dumps(base))
    odd["layers"][0]["units"] = 200
    odd["data"]["random_state"] = 31337
    students = [similarity.Student(f"s{i}", "", base) for i in range(8)]
    one = [similarity.Student("odd1", "", odd), similarity.Student("odd2", "", odd)]
    everyone = similarity.compare(students + one, {**SIMILARITY_DEFAULTS, "floor": 0.0})
    scores = {(p.a, p.b): p.architecture_score for p in everyone.pairs}
    assert scores[("s0", "s1")] == 0.0  # identical, but what most of the class did
    assert scores[("odd1", "odd2")] > 0.5
    # the same two choices weigh less when more of the class made them
    three = one + [similarity.Student("odd3", "", odd), similarity.Student("odd4", "", odd)]
    fewer = similarity.compare(students + three, {**SIMILARITY_DEFAULTS, "floor": 0.0})
    assert {(p.a, p.b): p.architecture_score for p in fewer.pairs}[("odd1", "odd2")] < \
        scores[("odd1", "odd2")]


def test_classes_of_none_one_and_two_do_not_break():
    code = "import numpy as np\nx = np.arange(77) * 3\nprint(x.sum())\n"
    assert similarity.compare([], SIMILARITY_DEFAULTS).pairs == ()
    assert similarity.compare([similarity.Student("a", code)], SIMILARITY_DEFAULTS).pairs == ()
    two = similarity.compare([similarity.Student("a", ORIGINAL), similarity.Student("b", ORIGINAL)],
                             {**SIMILARITY_DEFAULTS, "floor": 0.0})
    assert [(p.a, p.b) for p in two.pairs] == [("a", "b")] and two.pairs[0].code_score > 0.3


# --- code: normalised, order-free, boilerplate-free ---------------------------------------------

ORIGINAL = '''
import numpy as np
SEED = 1234
WIDTH = 333

def make(n):
    """Build it."""
    values = np.arange(n) * WIDTH  # scale
    return values.reshape(-1, 1)

result = make(17)
total = float(result.sum()) / SEED
print(f"total: {total:.5f}")
'''
DISGUISED = '''
import numpy as np
WIDTH = 333
SEED = 1234
def build_matrix(count):
    """Make the matrix."""
    vals = np.arange(count)*WIDTH   # times the width
    return vals.reshape(
        -1, 1
    )
# the answer
out = build_matrix(17)
overall = float(out.sum()) / SEED
print(f"sum = {overall:.5f}")
'''
OTHER = '''
import random
rows = [random.random() for _ in range(55)]
print(sorted(rows)[:3], len(rows), max(rows) - min(rows))
'''


def _pair(code_a: str, code_b: str, boilerplate=(), **settings) -> similarity.Pair:
    """The pair (a, b) in a class of three; by default, as if any shared code were enough."""
    students = [similarity.Student("a", code_a), similarity.Student("b", code_b),
                similarity.Student("c", OTHER)]
    settings = {**SIMILARITY_DEFAULTS, "floor": 0.0, "rare_fingerprints": 0.1, **settings}
    result = similarity.compare(students, settings, boilerplate)
    return next(p for p in result.pairs if (p.a, p.b) == ("a", "b"))


def test_code_score_sees_through_renames_reordering_comments_and_layout():
    renamed = re.sub(r"\bvalues\b", "v", ORIGINAL).replace("make", "compute")
    reordered = ORIGINAL.replace("SEED = 1234\nWIDTH = 333", "WIDTH = 333\nSEED = 1234")
    assert _pair(ORIGINAL, renamed).code_score == 1.0
    assert _pair(ORIGINAL, reordered).code_score == 1.0
    assert _pair(ORIGINAL, DISGUISED).code_score == 1.0  # all of it at once, comments, layout
    rewritten = DISGUISED.replace("out = build_matrix(17)\noverall = float(out.sum())",
                                  "overall = float(build_matrix(17).sum())")
    assert 0.3 < _pair(ORIGINAL, rewritten).code_score < 1.0  # a statement really rewritten
    assert _pair(ORIGINAL, OTHER).code_score < 0.1


def test_sharing_one_uncommon_line_is_not_enough():
    one_line = "import numpy as np\nprint(np.arange(12345).sum() % 97)\n"
    assert _pair(one_line, one_line).code_score == 1.0  # all they wrote, but only a line
    assert _pair(one_line, one_line, rare_fingerprints=25).code_score < 0.3
    umar, vera = ((CLASS / f"{name}.py").read_text() for name in ("umar", "vera"))
    assert _pair(umar, vera, rare_fingerprints=25).code_score == 1.0  # a whole file, renamed


def test_boilerplate_lines_do_not_count(tmp_path):
    template = TEMPLATE.read_text(encoding="utf-8")
    assert _pair(template, template, [template]).code_score == 0.0
    assert _pair(template, template).code_score == 1.0
    # a handout's Python blocks are boilerplate too (the exercise sheet, passed as .md)
    handout = tmp_path / "handout.md"
    handout.write_text("# Handout\n\n```python\n" + ORIGINAL + "```\n\n```\nnot code\n```\n")
    assert "def make(n)" in similarity.read_code(handout) and "not code" not in \
        similarity.read_code(handout)
    assert _pair(ORIGINAL, ORIGINAL, [similarity.read_code(handout)]).code_score == 0.0


def _notebook(*cells) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": source,
         **({"execution_count": 1, "outputs": [{"output_type": "stream", "name": "stdout",
                                                "text": "SECRET OUTPUT\n"}]}
            if kind == "code" else {})} for kind, source in cells]})


def test_notebooks_compare_as_code_without_outputs_or_magics(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(_notebook(("markdown", "# Title"), ("code", "!pip install keras\nx = 1"),
                              ("code", ["%matplotlib inline\n", "y = x + 1"]),
                              ("code", "%%bash\necho hi"), ("code", "%%time\nz = y * 2"),
                              ("code", "  !ls\n")))
    assert similarity.read_code(path) == ("# [cell 2]\nx = 1\n\n# [cell 3]\ny = x + 1\n\n"
                                          "# [cell 5]\nz = y * 2\n")
    # the notebook copy of a .py scores as the .py itself
    assert _pair(ORIGINAL, similarity.notebook_code(_notebook(("code", ORIGINAL)))).code_score \
        == 1.0
    windows = tmp_path / "windows.py"
    windows.write_bytes(b"x = 1\r\ny = 2\r\n")
    assert similarity.read_code(windows) == "x = 1\ny = 2\n"
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable notebook"):
        similarity.read_code(broken)


# --- files: CSV, HTML ----------------------------------------------------------------------------


def test_csv_has_the_columns_sorted_by_score_within_range(class_results, capsys):
    assert cli.main(["similarity", str(class_results)]) == 0
    rows = list(csv.DictReader(io.StringIO((class_results / "similarity.csv").read_text())))
    assert list(rows[0]) == ["a", "b", "code_score", "architecture_score", "score"]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    floor = load_rubric().similarity["floor"]
    assert all(floor <= float(r["score"]) <= 1 and 0 <= float(r["code_score"]) <= 1
               and 0 <= float(r["architecture_score"]) <= 1 and r["a"] < r["b"] for r in rows)
    assert {(r["a"], r["b"]) for r in rows[:len(PLANTED)]} == set(PLANTED)
    out = capsys.readouterr().out
    assert "flagged at or above the threshold" in out and "{emil, farah}" in out
    assert "similarity.html" in out


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


HOSTILE_ID = '<img src=x onerror=alert(1)>"\u202e'
HOSTILE_CODE = ('# </pre><script>alert("code")</script>\x1b[31m\u202egnp.exe\n'
                'x = "<iframe src=https://example.invalid/>"\n') + ORIGINAL


def test_html_is_self_contained_and_escapes_hostile_text(tmp_path):
    files = []
    for name, code in ((HOSTILE_ID, HOSTILE_CODE), ("=HYPERLINK(1)", HOSTILE_CODE),
                       ("plain", OTHER)):
        path = tmp_path / "in" / f"{name}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(code, encoding="utf-8")
        files.append(path)
    evil = json.loads(json.dumps(architectures()["wen"]))
    evil["layers"][0]["name"] = "<script>alert('layer')</script>"
    evil["optimizer"]["config"]["name"] = "</style><link rel=stylesheet href=//x>"
    out = tmp_path / "out"
    write_results(out, files, {HOSTILE_ID: evil, "=HYPERLINK(1)": evil,
                               "plain": architectures()["amara"]})
    assert cli.main(["similarity", str(out)]) == 0
    page = (out / "similarity.html").read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3",
                           "p", "div", "span", "b", "i", "ul", "li", "table", "tr", "th", "td",
                           "a", "pre", "mark"}
    for tag, name, value in parser.attributes:
        assert not name.startswith("on") and name not in ("src", "srcset", "action")
        assert name != "href" or re.fullmatch(r"#pair-\d+", value), (tag, name, value)
        assert "url(" not in value and "javascript:" not in value
    assert "url(" not in page and "@import" not in page and "<script" not in page.lower()
    assert "\u202e" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(&#x27;layer&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<mark>" in page  # the copies' shared code is marked
    rows = list(csv.reader(io.StringIO((out / "similarity.csv").read_text(encoding="utf-8"))))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row[:2])
    assert any(cell == "'=HYPERLINK(1)" for row in rows for cell in row[:2])


def test_marked_spans_cover_the_copied_code(class_result):
    result, students = class_result
    pair = next(p for p in result.pairs if (p.a, p.b) == ("umar", "vera"))
    marked = "".join(students["vera"].code[a:b] for a, b in pair.spans_b)
    assert "dense_block(256, is_input=True)" in marked and "show_results(network" in marked
    text = similarity_html.code_html(students["vera"].code, pair.spans_b)
    assert text.count("<mark>") >= 5 and "Vera L." not in "".join(re.findall(
        r"<mark>(.*?)</mark>", text))  # the changed docstring is not marked


# --- the command and the rubric ------------------------------------------------------------------


@pytest.mark.parametrize("make, argv, message", [
    (None, ["similarity"], "required: RESULTS_DIR"),
    (None, ["similarity", "/no/such/folder"], "no such folder"),
    ("empty", ["similarity", "{dir}"], "no reports/ folder"),
    ("results", ["similarity", "{dir}", "--boilerplate", "/no/sheet.md"], "no such boilerplate"),
    ("results", ["similarity", "{dir}", "--rubric", "{dir}/bad.toml"], "cannot read rubric"),
    ("results", ["similarity", "{dir}", "--bogus"], "unrecognized arguments"),
])
def test_similarity_usage_errors_exit_2_with_one_line(make, argv, message, tmp_path, capsys):
    if make == "results":
        write_results(tmp_path, class_files()[:3], architectures())
    argv = [a.replace("{dir}", str(tmp_path)) for a in argv]
    try:
        status = cli.main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    err = capsys.readouterr().err
    assert status == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_command_runs_as_a_process_and_says_what_it_wrote(class_results):
    done = subprocess.run([sys.executable, "-m", "grader", "similarity", str(class_results),
                           "--boilerplate", str(TEMPLATE)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Similarity: 32 submissions" in done.stdout and "Wrote " in done.stdout
    bad = subprocess.run([sys.executable, "-m", "grader", "similarity", "/no/such"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_rubric_similarity_table_defaults_and_validation(tmp_path):
    rubric = load_rubric()
    packaged = {k: v for k, v in rubric.similarity.items() if k != "boilerplate"}
    assert packaged == {k: v for k, v in SIMILARITY_DEFAULTS.items() if k != "boilerplate"}
    assert rubric.similarity["boilerplate"] == (str(TEMPLATE),)
    assert rubric.limits["max_parameters"] and rubric.exercise["epochs"] == 50
    text = (ROOT / "exercises" / "sentiment" / "rubric.toml").read_text()
    head = text[:text.index("[similarity]")]
    (tmp_path / "none.toml").write_text(head)
    assert dict(load_rubric(tmp_path / "none.toml").similarity)["threshold"] == 0.75
    for table, phrase in [("floor = 1.5", "floor must be a number from 0.0 to 1.0"),
                          ("floor = 0.9\nthreshold = 0.5", "floor must not exceed threshold"),
                          ("html_pairs = 2.5", "html_pairs must be an integer"),
                          ("noise_tokens = 30\nguarantee_tokens = 20", "guarantee_tokens"),
                          ("threshhold = 0.5", "unknown [similarity] keys ['threshhold']"),
                          ("boilerplate = 'sheet.md'", "boilerplate must be a list")]:
        (tmp_path / "bad.toml").write_text(head + "[similarity]\n" + table + "\n")
        with pytest.raises(RubricError, match=re.escape(phrase)):
            load_rubric(tmp_path / "bad.toml")


def test_load_class_says_what_it_left_out(tmp_path):
    files = class_files()[:4]
    write_results(tmp_path, files, {files[0].stem: architectures()[files[0].stem]})
    next((tmp_path / "sources").glob(f"{files[1].stem}.*")).unlink()
    with open(tmp_path / "grades.csv", "a", encoding="utf-8") as grades:
        grades.write("../../etc/passwd,x\n")
    students, notes = similarity.load_class(tmp_path)
    assert [s.id for s in students] == [files[0].stem, files[2].stem, files[3].stem]
    text = " | ".join(notes)
    assert "1 without a saved source" in text and files[1].stem in text
    assert "2 without an architecture" in text and "1 whose report or source" in text


def test_batch_keeps_one_source_per_student(tmp_path):
    py, nb = tmp_path / "ann.py", tmp_path / "ann.ipynb"
    py.write_text("x = 1\n")
    nb.write_text(_notebook(("code", "x = 2")))
    batch.save_source(tmp_path / "out", batch.Submission("ann", (("ann.py", py),), "ann.py"),
                      {"ann.py": b"x = 1\n"})
    assert (tmp_path / "out" / "sources" / "ann.py").read_text() == "x = 1\n"
    batch.save_source(tmp_path / "out", batch.Submission("ann", (("ann.ipynb", nb),), "ann.ipynb"),
                      {"ann.ipynb": nb.read_bytes()})
    assert [p.name for p in (tmp_path / "out" / "sources").iterdir()] == ["ann.ipynb"]
    batch.save_source(tmp_path / "out", batch.Submission("ann", (), None), {})
    assert not list((tmp_path / "out" / "sources").iterdir())


def test_batch_summary_has_a_similarity_section(class_results):
    order = [p.stem for p in class_files()]
    results = batch.Results(class_results)
    results.records = results.load()
    run = batch.RunFacts(graded_now=[], reused=order, kept=[], outdated=[], seconds=1.0,
                         where="test")
    assert batch_command._finish(class_results, results, order, run, True, None, load_rubric()) == 0
    text = (class_results / "summary.txt").read_text()
    assert "Similarity: 32 submissions" in text and "wen ~ xavier" in text
    section = json.loads((class_results / "summary.json").read_text())["similarity"]
    assert section["flagged_pairs"] == len(PLANTED)
    assert {(p["a"], p["b"]) for p in section["top_pairs"]} == set(PLANTED)
    assert sorted(map(tuple, section["clusters"])) == sorted(PLANTED)


def honest_fill_in(rng: random.Random) -> tuple[str, dict]:
    """The starter template filled in the common way, each statement one of a few variants that
    honest students write; and its architecture summary."""
    imports = TEMPLATE.read_text().split('"""', 2)[2].split("# STEP 1")[0]
    seed = rng.choice([None, 42, 42, 0, 1, rng.randint(2, 999)])
    seeded = "" if seed is None else f", random_state={seed}"
    extra = rng.choice(["", "", ", n_informative=50"])
    l2 = rng.choice(["0.001", "0.001", "0.01", "1e-3"])
    rate = rng.choice(["0.5", "0.5", "0.3", "0.2"])
    drops = rng.choice([(0, 1, 0), (1, 1, 0), (0, 1, 1), (1, 1, 1)])
    act = rng.choice(["'relu'", '"relu"'])
    lines = [imports,
             rng.choice([f"X, y = make_classification(n_samples=2000, n_features=500, n_classes=2"
                         f"{extra}{seeded})", f"X, y = make_classification(n_samples=2000, "
                         f"n_features=500{extra}, n_classes=2{seeded})"]),
             "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2"
             + rng.choice([seeded, ""]) + ")",
             "model = Sequential()",
             rng.choice([f"model.add(Dense(256, activation={act}, kernel_regularizer=l2({l2}), "
                         "input_shape=(500,)))", f"model.add(Dense(256, activation={act}, "
                         f"input_shape=(500,), kernel_regularizer=l2({l2})))",
                         f"model.add(Dense(256, input_dim=500, activation={act}, "
                         f"kernel_regularizer=l2({l2})))"])]
    for units, dropout in zip((128, 64, None), drops):
        lines += [f"model.add(Dropout({rate}))"] * dropout
        lines += [f"model.add(Dense({units}, activation={act}, kernel_regularizer=l2({l2})))"
                  if units else "model.add(Dense(1, activation='sigmoid'))"]
    lines += [rng.choice(["model.compile(optimizer=Adam(learning_rate=0.001), loss='binary_"
                          "crossentropy', metrics=['accuracy'])", "model.compile(optimizer="
                          "'adam', loss='binary_crossentropy', metrics=['accuracy'])"]),
              rng.choice(["model.fit(X_train, y_train, epochs=50, batch_size=32, "
                          "validation_split=0.2)", "history = model.fit(X_train, y_train, "
                          "epochs=50, batch_size=32, validation_split=0.2, verbose=0)"]),
              rng.choice(["loss, accuracy = model.evaluate(X_test, y_test)\n"
                          "print(f'Test accuracy: {accuracy:.4f}')",
                          "test_loss, test_acc = model.evaluate(X_test, y_test)\n"
                          "print('Test accuracy:', test_acc)",
                          "score = model.evaluate(X_test, y_test, verbose=0)\n"
                          "print('Test accuracy:', score[1])"])]
    arch = json.loads(json.dumps(architectures()["amara"]))
    arch["data"] = {k: v for k, v in {**arch["data"], "random_state": seed}.items()
                    if v is not None}
    arch["layers"] = [layer for layer in arch["layers"] if layer["kind"] != "Dropout"]
    for at, dropout in reversed(list(zip((1, 2, 3), drops))):
        if dropout:
            arch["layers"].insert(at, {**architectures()["amara"]["layers"][2],
                                       "rate": float(rate)})
    return "\n".join(lines) + "\n", arch


def test_300_students_in_a_few_seconds_and_honest_fill_ins_stay_below_the_threshold(tmp_path):
    """The synthetic class and 268 honest fill-ins of the template (the common architecture,
    each statement one of a few common variants): the planted copies are still flagged, hardly
    any honest pair is, and it takes seconds."""
    rng = random.Random(300)
    files, archs = list(class_files()), dict(architectures())
    for i in range(300 - len(files)):
        code, arch = honest_fill_in(rng)
        path = tmp_path / "in" / f"honest{i:03d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(code, encoding="utf-8")
        files.append(path)
        archs[path.stem] = arch
    out = tmp_path / "out"
    write_results(out, files, archs)
    started, cpu = time.monotonic(), time.process_time()
    assert cli.main(["similarity", str(out)]) == 0
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = list(csv.DictReader(io.StringIO((out / "similarity.csv").read_text())))
    threshold = load_rubric().similarity["threshold"]
    flagged = {(r["a"], r["b"]) for r in rows if float(r["score"]) >= threshold}
    honest = {pair for pair in flagged if pair not in PLANTED}
    print(f"\n300 students: python -m grader similarity took {seconds:.1f} s ({cpu:.1f} s of CPU, "
          f"load average {load:.1f}); {len(rows)} pairs above the floor, {len(flagged)} flagged, "
          f"{len(honest)} of them not planted: {sorted(honest)[:5]}")
    assert set(PLANTED) <= flagged
    assert len(honest) <= 3  # of 44,850 pairs, most of them between near-identical fill-ins
    assert seconds < 60


# --- end to end: a real batch, then the command --------------------------------------------------

E2E = ["amara.py", "carla.py", "diego.py", "emil.ipynb", "farah.ipynb"]


@pytest.mark.slow
def test_a_real_batch_saves_sources_and_flags_the_copies(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in E2E:
        (submissions / name).write_bytes((CLASS / name).read_bytes())
    out = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    graded = subprocess.run([sys.executable, "-m", "grader", "batch", str(submissions), "--out",
                             str(out), "--workers", "2", "--quiet"], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=900)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert sorted(p.name for p in (out / "sources").iterdir()) == sorted(E2E)
    for name in E2E:
        report = json.loads((out / "reports" / f"{Path(name).stem}.json").read_text())["report"]
        assert report["architecture"] == architectures()[Path(name).stem], (
            f"{name}: the sandbox now observes another architecture than architectures.json "
            "holds; run python tests/test_similarity.py --regenerate")
    summary = (out / "summary.txt").read_text()
    assert "Similarity: 5 submissions" in summary and "emil ~ farah" in summary
    assert "carla ~ diego" in summary
    done = subprocess.run([sys.executable, "-m", "grader", "similarity", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((out / "similarity.csv").read_text())))
    assert {(r["a"], r["b"]) for r in rows[:2]} == {("carla", "diego"), ("emil", "farah")}
    assert all(float(r["score"]) < load_rubric().similarity["threshold"] for r in rows[2:])
    page = (out / "similarity.html").read_text()
    assert "emil ↔ farah" in page and "carla ↔ diego" in page


# --- regenerating architectures.json ------------------------------------------------------------


def observed_architectures(files: list[Path]) -> dict:
    """Run each file in the real sandbox (fast mode, no retrain) and summarise its model."""
    from grader.integrations.lane import Lane
    from grader.observation import observe
    from grader.report import summarize_architecture
    from grader.sandbox import Limits
    from grader.sources import read_submission

    lane = Lane()
    try:
        runner = lane.runner()
        found = {}
        for path in files:
            submission = read_submission(path)
            run = runner(submission.script_name, submission.source.encode("utf-8"),
                         limits=Limits(timeout_seconds=120), full=False)
            found[path.stem] = summarize_architecture(observe(run, submission.source))
            print(f"{path.name}: {run.status}", file=sys.stderr)
        return found
    finally:
        lane.close()


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python tests/test_similarity.py --regenerate")
    ARCHITECTURES.write_text(json.dumps({
        "generated_by": "python tests/test_similarity.py --regenerate (the sandbox's observation "
                        "of each file, summarised by grader.report.summarize_architecture)",
        "architectures": observed_architectures(class_files())}, indent=1, sort_keys=True)
        + "\n", encoding="utf-8")
