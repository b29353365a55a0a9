"""Similar submissions across a class, on code and on architecture: evidence for a person to read.

``python -m grader similarity RESULTS_DIR`` (and the end of every batch) reads what a batch saved,
``reports/<id>.json`` (with each model's ``architecture``) and ``sources/<id>.py|.ipynb``; it
never runs a submission. Each pair of students gets two scores in [0, 1] and their combination:

    code          copydetect's tokenizer (names become V, strings S; comments and layout go) and
                  its winnowing, on k-grams that never cross the end of a statement (so reordered
                  statements match). Fingerprints of the boilerplate (the starter template, the
                  sheet) are dropped; the others weigh log((N + 1) / n) when n of the class's N
                  submissions have them, and nothing when more than ``code_common_fraction`` of
                  the class has them. The score is the mean of "the share of a's weight found in
                  b" and "the share of b's weight found in a", times min(1, shared weight /
                  (``rare_fingerprints`` * log((N + 1) / 2))): full once they share as much as
                  that many fingerprints nobody else has.
    architecture  each choice (a width, an activation, an L2 factor, a dropout rate, a layer
                  name, an optimizer setting, the data seed...) weighs log2((N + 1) / n) bits
                  when n of N students made it, and nothing when more than
                  ``architecture_common_fraction`` did. The score is the share of the pair's bits
                  that both have, times min(1, shared bits / enough), where enough is
                  ``rare_choices`` * log2((N + 1) / 2): as much as that many choices nobody else
                  made.
    score         1 - (1 - code) * (1 - architecture): either signal alone can raise it.

The class itself is the reference distribution: the architecture most of the class built (the
sheet's widths, L2 and Dropout) weighs nothing, an odd width or seed shared by two students weighs
a lot. Settings come from the rubric's ``[similarity]`` table.

``fingerprints`` reads code and fingerprints it, ``scores`` scores the pairs, ``folder`` reads a
batch's results and writes ``similarity.csv`` and ``similarity.html``; the data (``Student``,
``Pair``, ``Result``, ``describe``) is ``grader.core.similarity``'s, which the reporters format.
The library imports no reporter: a command has ``grader.reporters.similarity_html`` render the
page and hands it to ``write_files``.
"""

from grader.core.similarity import Pair, Result, Shared, Student, describe
from grader.similarity.fingerprints import fingerprint, notebook_code, read_code
from grader.similarity.folder import (SOURCE_SUFFIXES, SimilarityError, analyse, load_class,
                                      pairs_csv, read_boilerplate, write_files)
from grader.similarity.scores import clusters, compare

__all__ = ["Pair", "Result", "SOURCE_SUFFIXES", "Shared", "SimilarityError", "Student", "analyse",
           "clusters", "compare", "describe", "fingerprint", "load_class", "notebook_code",
           "pairs_csv", "read_boilerplate", "read_code", "write_files"]
