"""Does the fast retrain give TensorFlow's verdicts where parity is hard? (issue 22)

For each configuration of ``benchmarks/stress_configs.py`` and each data seed (the rubric's of
the configuration's exercise, then the next ones, as ``--trials`` takes them), the grader's own
request (``training_request`` on what the probe would record, with that exercise's rubric) is
retrained three times by the grader's retrain worker for that exercise: by its
default engine (the fast path), and by TensorFlow's reference path twice, with oneDNN's kernels
and with Eigen's (``TF_ENABLE_ONEDNN_OPTS=0``), each variant in a process of its own since
TensorFlow reads the switch when it is imported. The verdicts of ``loss_decreases`` and
``accuracy`` come from the exercise's checks. Where the two TensorFlow runs agree on a verdict the
fast path must give it too; where they do not, the verdict is TensorFlow's own rounding and is
only counted.

Usage: python benchmarks/stress_parity.py [--configs SUBSTRING] [--seeds N] [--out FILE.json]
           [--cache-dir DIR] [--processes N] [--tensorflow-from EARLIER.json]
Exit status 1 when a verdict differs. At most 2 processes train at once (each single-threaded).
``--tensorflow-from`` takes both TensorFlow runs from an earlier ``--out`` file (or one exported
from a run stopped part-way) and retrains only the fast path for the pairs it has, every variant
for the rest: valid while the reference path (``_build``, ``_train_fit``, the initial weights'
and dropout masks' draws) is unchanged; the run says so.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import stress_configs  # noqa: E402
from grader.exercise import get as get_exercise  # noqa: E402
from grader.core.request import RetrainRequest  # noqa: E402
from grader.retrain.client import ResultCache, Retrainer, TrainingResult  # noqa: E402
from grader.rubric import Rubric, load_rubric  # noqa: E402

VERDICTS = ("loss_decreases", "accuracy")
FAST, ONEDNN, EIGEN = "fast", "tensorflow-onednn", "tensorflow-eigen"
# What each variant's worker is started with; None removes the variable (the default engine)
VARIANTS = {
    FAST: {"GRADER_RETRAIN_BACKEND": "jax", "GRADER_RETRAIN_ENGINE": None},
    ONEDNN: {"GRADER_RETRAIN_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"},
    EIGEN: {"GRADER_RETRAIN_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "0"},
}
MAX_PROCESSES = 2


def rubrics(configs) -> dict[str, Rubric]:
    """The rubric of each exercise that ``configs`` are graded under, by exercise name."""
    return {name: load_rubric(exercise=name) for name in sorted({c.exercise for c in configs})}


def observation(config: stress_configs.StressConfig, keras, rubric: Rubric):
    """What the grader observes of a script that compiles ``config`` for ``rubric``'s exercise
    and trains it as the sheet says: the probe's own descriptions of the model and its compile
    settings, and of its ``fit`` call (the labels' width: 1 for integer labels, the exercise's
    classes when one-hot), read by ``observe``."""
    from grader.observation import observe
    from grader.sandbox import probe
    from grader.sandbox.supervisor import SandboxRun

    exercise = rubric.exercise
    model = stress_configs.build(config, keras, int(exercise["n_features"]))
    described = {"model": probe._describe_model(model), "compile": probe._describe_compile(model)}
    keras.backend.clear_session(free_memory=False)  # names restart; gc.collect cost ~1 s a model
    # the probe's record of fit(X_train, y_train, epochs=..., batch_size=..., validation_split=...)
    train_rows = int(exercise["n_samples"]) - round(int(exercise["n_samples"])
                                                    * float(exercise["test_fraction"]))
    fit = {"epochs": int(exercise["epochs"]), "batch_size": int(exercise["batch_size"]),
           "validation_split": float(exercise["validation_split"]), "has_validation_data": False,
           "callbacks": [], "callback_settings": [], "x_rows": train_rows,
           "y_columns": int(exercise["n_classes"]) if config.one_hot_labels else 1}
    events = ({"event": "start"}, {"event": "compile", **described},
              {"event": "fit", **described, "kwargs": fit, "shortened": True, "completed": True,
               "steps": 1},
              {"event": "end", "exit_code": 0, **described})
    return observe(SandboxRun(events=events, stdout="", stderr="", status="exited", exit_code=0,
                              wall_seconds=0.0, peak_memory_mb=0.0))


def jobs(configs, seeds: int, by_exercise: dict[str, Rubric]) -> tuple[dict, list[dict]]:
    """Each configuration's observation, and one job per (configuration, data seed): the request
    the grader sends for it under its exercise's rubric (``by_exercise``), keyed ``name|seed``,
    with the exercise's name."""
    os.environ.setdefault("KERAS_BACKEND", "jax")  # only to serialize the models
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from grader.pipeline import training_request, trial_requests

    observed, out = {}, []
    for config in configs:
        rubric = by_exercise[config.exercise]
        observed[config.name] = obs = observation(config, keras, rubric)
        request = training_request(obs, rubric)
        if not isinstance(request, RetrainRequest):
            raise SystemExit(f"{config.name}: the grader would not retrain it: {request}")
        for each in trial_requests(request, seeds):
            out.append({"key": f"{config.name}|{each.data['seed']}", "exercise": config.exercise,
                        "request": each.to_json()})
    return observed, out


def child(variant: str, cache_dir: str) -> int:
    """Child process: retrain each job read from stdin with this process's worker settings, by a
    retrainer of its exercise's rubric (one worker at a time: the jobs come grouped by
    exercise); one JSON line per result on stdout."""
    cache = ResultCache(Path(cache_dir) / variant) if cache_dir else None
    exercise, retrainer = None, None
    try:
        for job in json.load(sys.stdin):
            if job["exercise"] != exercise:
                if retrainer is not None:
                    retrainer.close()
                exercise = job["exercise"]
                retrainer = Retrainer(load_rubric(exercise=exercise), cache)
            started = time.monotonic()
            result = retrainer.result(RetrainRequest.from_json(job["request"]))
            print(json.dumps({"key": job["key"], "result": asdict(result),
                              "wall": round(time.monotonic() - started, 2)}), flush=True)
    finally:
        if retrainer is not None:
            retrainer.close()
    return 0


def _env(variant: str) -> dict:
    env = dict(os.environ)
    for name, value in VARIANTS[variant].items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "3"}


def retrain_all(job_list: list[dict], variants, processes: int, cache_dir: str | None,
                on_result=lambda variant, key, result: None) -> dict[str, dict[str, dict]]:
    """Every job's result for each of ``variants`` (``{variant: {key: {"result", "wall"}}}``),
    with at most ``processes`` children training at once."""
    processes = max(1, min(processes, MAX_PROCESSES))
    chunks = [job_list[i::processes] for i in range(processes)]
    tasks: queue.Queue = queue.Queue()
    for variant in sorted(variants, key=(ONEDNN, EIGEN, FAST).index):  # the slow ones first
        for chunk in chunks:
            if chunk:
                tasks.put((variant, chunk))
    results = {variant: {} for variant in variants}
    failures: list[str] = []
    lock = threading.Lock()

    def slot():
        while True:
            try:
                variant, chunk = tasks.get_nowait()
            except queue.Empty:
                return
            command = [sys.executable, __file__, "--child", variant, "--cache-dir", cache_dir or ""]
            with tempfile.TemporaryFile("w+") as errors, subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                    text=True, env=_env(variant), cwd=ROOT) as process:
                process.stdin.write(json.dumps(chunk))
                process.stdin.close()
                for line in process.stdout:
                    message = json.loads(line)
                    with lock:
                        results[variant][message["key"]] = message
                        on_result(variant, message["key"], message)
                if process.wait() != 0:
                    errors.seek(0)
                    failures.append(f"{variant}: {errors.read()[-2000:]}")

    threads = [threading.Thread(target=slot) for _ in range(processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError("a retrain child failed:\n" + "\n".join(failures))
    return results


def verdicts(obs, training: TrainingResult, rubric: Rubric) -> dict[str, bool]:
    """The grader's pass/fail for each of ``VERDICTS`` on this retrain (``rubric``'s exercise's
    checks and thresholds)."""
    checks = get_exercise(rubric.exercise_name).registry.checks
    return {check: checks[check](obs, training, rubric).passed for check in VERDICTS}


@dataclass(frozen=True)
class Run:
    """One variant's retrain of one (configuration, seed)."""

    status: str
    accuracy: float | None
    first_loss: float | None
    last_loss: float | None
    engine: str
    seconds: float
    verdicts: dict

    def describe(self) -> str:
        loss = lambda v: "NaN" if v is None else format(v, ".4g")  # noqa: E731
        accuracy = "-" if self.accuracy is None else format(self.accuracy, ".4f")
        return (f"accuracy {accuracy}, loss {loss(self.first_loss)} -> {loss(self.last_loss)}"
                + ("" if self.status == "ok" else f" [{self.status}]"))


@dataclass(frozen=True)
class Outcome:
    config: str
    seed: int
    runs: dict  # variant -> Run

    def reference(self, check: str) -> bool | None:
        """TensorFlow's verdict when its two kernels agree on it, else None."""
        onednn, eigen = self.runs[ONEDNN].verdicts[check], self.runs[EIGEN].verdicts[check]
        return onednn if onednn == eigen else None

    def disagreements(self) -> list[str]:
        """The checks whose fast verdict is not the one TensorFlow agrees on."""
        return [check for check in VERDICTS if self.reference(check) is not None
                and self.runs[FAST].verdicts[check] != self.reference(check)]


def outcomes(observed: dict, job_list: list[dict], results: dict, by_exercise: dict[str, Rubric],
             reused: dict) -> list[Outcome]:
    """Each job's outcome: its runs from ``results``, and from ``reused`` (key -> {variant: Run}),
    judged by its exercise's rubric (``by_exercise``)."""
    out = []
    for job in job_list:
        name, _, seed = job["key"].rpartition("|")
        runs = dict(reused.get(job["key"], {}))
        for variant, by_key in results.items():
            if job["key"] not in by_key:  # this variant came from ``reused``
                continue
            training = TrainingResult.from_dict(by_key[job["key"]]["result"])
            runs[variant] = Run(training.status, training.test_accuracy, training.first_loss,
                                training.last_loss, training.engine or variant, training.seconds,
                                verdicts(observed[name], training, by_exercise[job["exercise"]]))
        out.append(Outcome(name, int(seed), {variant: runs[variant] for variant in VARIANTS}))
    return out


def earlier_runs(path: Path, variants) -> dict[str, dict[str, Run]]:
    """``variants``' runs from an earlier ``--out`` file, keyed ``name|seed``."""
    return {f"{o['config']}|{o['seed']}": {v: Run(**o["runs"][v]) for v in variants}
            for o in json.loads(path.read_text()) if all(v in o["runs"] for v in variants)}


def compare(configs, seeds: int = 3, processes: int = MAX_PROCESSES, cache_dir: str | None = None,
            on_result=lambda variant, key, result: None,
            reused: dict | None = None) -> list[Outcome]:
    """Retrain ``configs`` on ``seeds`` data seeds with every variant (but those ``reused``
    gives for every job: key -> {variant: Run}); each (configuration, seed)'s outcome."""
    by_exercise = rubrics(configs)
    observed, job_list = jobs(configs, seeds, by_exercise)
    reused = reused or {}
    # the pairs an earlier run gave every TensorFlow run of retrain the fast path only; the rest
    # (configurations added since, or a run stopped part-way) retrain with every variant
    given = [job for job in job_list if job["key"] in reused]
    rest = [job for job in job_list if job["key"] not in reused]
    results: dict[str, dict] = {}
    for part, variants in ((given, [v for v in VARIANTS if v not in (ONEDNN, EIGEN)]),
                           (rest, list(VARIANTS))):
        if part:
            for variant, by_key in retrain_all(part, variants, processes, cache_dir,
                                               on_result).items():
                results.setdefault(variant, {}).update(by_key)
    return outcomes(observed, job_list, results, by_exercise, reused)


def disagreement_lines(found: list[Outcome]) -> list[str]:
    """One line per (configuration, seed, check) where the fast verdict is not TensorFlow's."""
    lines = []
    for outcome in found:
        for check in outcome.disagreements():
            runs = outcome.runs
            lines.append(
                f"{outcome.config} (seed {outcome.seed}): {check} fast "
                f"{'pass' if runs[FAST].verdicts[check] else 'FAIL'} ({runs[FAST].engine}: "
                f"{runs[FAST].describe()}), TensorFlow "
                f"{'pass' if outcome.reference(check) else 'FAIL'} (oneDNN: "
                f"{runs[ONEDNN].describe()}; Eigen: {runs[EIGEN].describe()})")
    return lines


def summary(found: list[Outcome], not_run, wall: float) -> list[str]:
    pairs = len(found)
    lines = [f"{len({o.config for o in found})} configurations x seeds = {pairs} pairs; "
             f"{pairs * len(VERDICTS)} verdicts compared per variant"]
    for check in VERDICTS:
        agreed = [o for o in found if o.reference(check) is not None]
        same = sum(o.runs[FAST].verdicts[check] == o.reference(check) for o in agreed)
        lines.append(f"  {check}: TensorFlow agrees with itself on {len(agreed)}/{pairs}; fast "
                     f"path gives that verdict on {same}/{len(agreed)}; TensorFlow "
                     f"self-disagreements {pairs - len(agreed)}")
    gaps = [abs(o.runs[ONEDNN].accuracy - o.runs[EIGEN].accuracy) for o in found
            if o.runs[ONEDNN].accuracy is not None and o.runs[EIGEN].accuracy is not None]
    if gaps:
        lines.append(f"  TensorFlow oneDNN vs Eigen test accuracy: median {statistics.median(gaps):.4f}, "
                     f"max {max(gaps):.4f}")
    engines = [o.runs[FAST].engine for o in found]
    lines.append("  fast path engines: " + ", ".join(
        f"{e} {engines.count(e)}" for e in sorted(set(engines))))
    for variant in VARIANTS:
        seconds = [o.runs[variant].seconds for o in found]
        lines.append(f"  {variant}: {sum(seconds):.0f} s of retraining, median "
                     f"{statistics.median(seconds):.2f} s, max {max(seconds):.1f} s per retrain")
    lines.append(f"  wall time {wall:.0f} s")
    if not_run:
        lines.append("  not yet run: " + "; ".join(f"{c.name} ({c.not_yet_run})" for c in not_run))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="", help="only configurations whose name has this")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write every outcome as JSON")
    parser.add_argument("--cache-dir", default="", help="keep retrain results here (per variant)")
    parser.add_argument("--processes", type=int, default=MAX_PROCESSES)
    parser.add_argument("--tensorflow-from", type=Path,
                        help="take both TensorFlow runs from this earlier --out file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.cache_dir)
    selected = [c for c in stress_configs.CONFIGS if args.configs.lower() in c.name.lower()]
    configs = [c for c in selected if not c.not_yet_run]
    if not configs:
        parser.error(f"no runnable configuration's name contains {args.configs!r}")
    reused = earlier_runs(args.tensorflow_from, (ONEDNN, EIGEN)) if args.tensorflow_from else {}
    if reused:
        print(f"TensorFlow's runs of {len(reused)} (configuration, seed) pairs taken from "
              f"{args.tensorflow_from}; the fast path retrains those, every variant the rest")
    started = time.monotonic()
    names = {config.name for config in configs}
    given = sum(key.rpartition("|")[0] in names for key in reused)  # of the selected pairs
    total = len(configs) * args.seeds * len(VARIANTS) - 2 * given  # less their TensorFlow runs
    done = [0]

    def progress(variant, key, message):
        done[0] += 1
        result = TrainingResult.from_dict(message["result"])
        accuracy = "-" if result.test_accuracy is None else format(result.test_accuracy, ".4f")
        print(f"[{done[0]:3d}/{total}] {variant:18s} {key:50s} {result.status:7s} {accuracy} "
              f"{message['wall']:6.1f} s", flush=True)

    found = compare(configs, args.seeds, args.processes, args.cache_dir or None, progress, reused)
    wall = time.monotonic() - started
    if args.out:
        args.out.write_text(json.dumps([asdict(o) for o in found], indent=1))
    problems = disagreement_lines(found)
    print(f"\n{len(problems)} disagreement(s) with TensorFlow where it agrees with itself")
    print("\n".join(problems))
    self_disagreements = [f"{o.config} (seed {o.seed}): {check} oneDNN {o.runs[ONEDNN].describe()}; "
                          f"Eigen {o.runs[EIGEN].describe()}"
                          for o in found for check in VERDICTS if o.reference(check) is None]
    if self_disagreements:
        print("\nTensorFlow disagrees with itself (not compared):\n" + "\n".join(self_disagreements))
    print("\n" + "\n".join(summary(found, [c for c in selected if c.not_yet_run], wall)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
