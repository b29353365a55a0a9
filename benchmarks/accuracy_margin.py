"""How far above the accuracy threshold a submission's model lands, over several data seeds.

Usage: python benchmarks/accuracy_margin.py [FILE] [--exercise NAME] [--seeds 8]
Runs FILE (default: the exercise's reference solution) once in the sandbox to read its model,
then retrains that model (as the grader does) on the grader's data made with each seed, and
prints the test accuracies, the engine that trained them and the margin over the rubric's
threshold.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

from grader.core.request import RetrainRequest
from grader.exercise import get
from grader.observation import observe
from grader.pipeline import training_request
from grader.rubric import load_rubric
from grader.sandbox import run_script
from grader.retrain.client import TrainerProcess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="default: the exercise's reference solution")
    parser.add_argument("--exercise", help="the exercise (default: the default one)")
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    exercise = get(args.exercise)
    args.file = args.file or str(exercise.path(exercise.solution))
    rubric = load_rubric(exercise=exercise.name)
    source = Path(args.file).read_text()
    request = training_request(observe(run_script(Path(args.file).name, source.encode())), rubric)
    if not isinstance(request, RetrainRequest):
        print(f"cannot retrain {args.file}: {request}")
        return 1
    threshold = float(rubric.exercise["accuracy_threshold"])
    accuracies = []
    for seed in range(1, args.seeds + 1):
        seeded = dataclasses.replace(rubric, data=dataclasses.replace(rubric.data, seed=seed))
        worker = TrainerProcess(seeded)
        try:
            result = worker.wait(worker.submit(dataclasses.replace(request, seed=seed)), 600)
        finally:
            worker.close()
        accuracies.append(result.test_accuracy)
        print(f"seed {seed}: test accuracy {result.test_accuracy:.4f} ({result.seconds:.1f} s, "
              f"{result.engine or 'engine unknown'})")
    print(f"{args.file}: min {min(accuracies):.4f}, max {max(accuracies):.4f}, "
          f"margin over the {threshold:g} threshold: {min(accuracies) - threshold:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
