"""Every pair of a class scored on code and on architecture, and the clusters of flagged pairs.

Each item (a fingerprint, a choice) weighs by its rarity in the class: the class itself is the
reference for what is common (see ``grader.similarity`` for the scores' definitions).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from grader.core.similarity import Pair, Result, Shared, Student, describe
from grader.similarity.fingerprints import (Fingerprint, boilerplate_hashes, fingerprint,
                                            matching_spans)

SMALL_CLASS = 20  # below this, the report says rarity means little


@dataclass(frozen=True)
class _Weighted:
    """Items (hashes or choices) per student, each weighted by its rarity in the class."""

    items: tuple[np.ndarray, ...]  # per student: sorted unique item ids
    weight: np.ndarray  # per item id
    count: np.ndarray  # per item id: how many students have it

    def totals(self) -> np.ndarray:
        return np.array([self.weight[ids].sum() for ids in self.items])

    def shared(self) -> np.ndarray:
        """The weight each pair of students shares, as a dense N x N matrix."""
        from scipy import sparse

        n = len(self.items)
        rows = np.repeat(np.arange(n), [len(ids) for ids in self.items])
        cols = np.concatenate(self.items) if n else np.zeros(0, dtype=np.int64)
        useful = (self.count[cols] >= 2) & (self.weight[cols] > 0)
        matrix = sparse.csr_matrix((np.ones(int(useful.sum())), (rows[useful], cols[useful])),
                                   shape=(n, len(self.weight)))
        return (matrix @ sparse.diags(self.weight) @ matrix.T).toarray()


def _weighted(items: tuple[np.ndarray, ...], distinct: int, common_fraction: float,
              log) -> _Weighted:
    """Weights log((N + 1) / n) (the + 1 keeps a class of two comparable), and 0 for the items
    more than ``common_fraction`` of N students have (at least two may always share one).

    ``items``: per student, the sorted unique ids (0 .. ``distinct`` - 1) of what it has.
    """
    n = len(items)
    count = np.bincount(np.concatenate(items) if n else np.zeros(0, dtype=np.int64),
                        minlength=distinct)
    weight = log((n + 1) / np.maximum(count, 1))
    weight[count > max(2.0, common_fraction * n)] = 0.0
    return _Weighted(items, weight, count)


def code_scores(prints: list[Fingerprint], common_fraction: float,
                rare_fingerprints: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise code scores, and the hashes that weigh something.

    The mean of each side's weight found in the other, scaled down until the pair shares as
    much weight as ``rare_fingerprints`` fingerprints nobody else has: two short submissions
    that happen to share their only uncommon line are not a copy.
    """
    per_student = [p.hashes for p in prints]
    every, index = np.unique(np.concatenate(per_student) if prints else np.zeros(0, np.int64),
                             return_inverse=True)
    items = tuple(np.split(index.astype(np.int64), np.cumsum([len(h) for h in per_student])[:-1])
                  if prints else ())
    weighted = _weighted(items, len(every), common_fraction, np.log)
    totals = weighted.totals()
    shared = weighted.shared()
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.where(totals[:, None] > 0, shared / totals[:, None], 0.0)
    enough = rare_fingerprints * math.log((len(prints) + 1) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = (found + found.T) / 2 * np.minimum(1.0, shared / enough)
    return np.clip(scores, 0.0, 1.0), every[weighted.weight > 0]


def architecture_scores(per_student: list[dict[str, str]], common_fraction: float,
                        rare_choices: float) -> tuple[np.ndarray, _Weighted, dict]:
    """Pairwise architecture scores: shared bits over the pair's bits, scaled down until they
    share as much as ``rare_choices`` choices nobody else made."""
    ids: dict[str, int] = {}
    items = tuple(np.array(sorted(ids.setdefault(key, len(ids)) for key in choices),
                           dtype=np.int64) for choices in per_student)
    weighted = _weighted(items, len(ids), common_fraction, np.log2)
    n = len(per_student)
    totals = weighted.totals()
    shared = weighted.shared()
    union = np.add.outer(totals, totals) - shared
    enough = rare_choices * math.log2((n + 1) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(union > 0, shared / union, 0.0) * np.minimum(1.0, shared / enough)
    return np.clip(scores, 0.0, 1.0), weighted, ids


def compare(students: list[Student], settings: Mapping, boilerplate: Iterable[str] = (),
            notes: Iterable[str] = ()) -> Result:
    """Score every pair of ``students``: the pairs at or above the floor, best first.

    Args:
        students: the class (at least two to compare anything).
        settings: the rubric's ``[similarity]`` table.
        boilerplate: code that does not count (the starter template, the sheet's code).
        notes: what the report should say about its inputs (missing sources...).
    """
    students = sorted(students, key=lambda s: s.id)
    notes = list(notes)
    if 2 <= len(students) < SMALL_CLASS:
        notes.append(f"only {len(students)} submissions: in a class this small, common choices "
                     "can look rare (the class is the reference for what is common)")
    k = int(settings["noise_tokens"])
    window = int(settings["guarantee_tokens"]) - k + 1
    plate = boilerplate_hashes(list(boilerplate), k)
    prints = [fingerprint(s.code, k, window, plate) for s in students]
    code, counting = code_scores(prints, float(settings["code_common_fraction"]),
                                 float(settings["rare_fingerprints"]))
    views = [describe(s.architecture).choices() for s in students]
    arch, arch_weights, ids = architecture_scores(
        views, float(settings["architecture_common_fraction"]), float(settings["rare_choices"]))
    combined = 1.0 - (1.0 - code) * (1.0 - arch)
    keys = list(ids)
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(combined >= float(settings["floor"]) - 1e-12, k=1))):
        both = np.intersect1d(arch_weights.items[i], arch_weights.items[j]).tolist()
        shared = sorted((Shared(keys[x], views[i][keys[x]], int(arch_weights.count[x]),
                                float(arch_weights.weight[x]))
                         for x in both if arch_weights.weight[x] > 0),
                        key=lambda s: (-s.bits, s.label))
        pairs.append(Pair(students[i].id, students[j].id, float(code[i, j]), float(arch[i, j]),
                          float(combined[i, j]), tuple(shared)))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    top = int(settings["html_pairs"])
    by_id = {s.id: p for s, p in zip(students, prints)}
    pairs[:top] = [_with_spans(p, by_id, counting) for p in pairs[:top]]
    flagged = [p for p in pairs if p.score >= float(settings["threshold"])]
    return Result(tuple(s.id for s in students), tuple(pairs), clusters(flagged), settings,
                  tuple(notes))


def _with_spans(pair: Pair, prints: dict[str, Fingerprint], counting: np.ndarray) -> Pair:
    """The pair with its matching code located (the fingerprints that count: not common)."""
    a, b = prints[pair.a], prints[pair.b]
    both = np.intersect1d(np.intersect1d(a.hashes, b.hashes), counting).tolist()
    return dataclasses.replace(pair, spans_a=matching_spans(a, both),
                               spans_b=matching_spans(b, both))


def clusters(pairs: Iterable[Pair]) -> tuple[tuple[str, ...], ...]:
    """Connected components of the given pairs, largest first (members sorted by id)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    groups: dict[str, list[str]] = {}
    for member in list(parent):
        groups.setdefault(root(member), []).append(member)
    return tuple(sorted((tuple(sorted(g)) for g in groups.values() if len(g) > 1),
                        key=lambda g: (-len(g), g)))
