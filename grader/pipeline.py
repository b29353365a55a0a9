"""Grade one submission: read it, run it in the sandbox, observe, retrain, check, score.

``grade()`` is the library entry point the CLI, the batch command and nbgrader all call.
``guarded`` is the one catch-all every path uses (``grade`` itself, the CLI, batch workers and
callbacks, nbgrader, Gradescope): a failure of the grader's own code on one submission becomes that
submission's report ("grader error: ..."), never a traceback that stops the others.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path
from typing import Callable, TypeVar

from grader.version import __version__
from grader.audit import tampering
from grader.bonus import run_bonuses
from grader.checks import is_not_started, run_checks
from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.core.request import RetrainRequest
from grader.core.results import TrainingResult
from grader.options import cache_directory
from grader.observation import ErrorInfo, Observation, observe, output_activation, retrain_config
from grader.report import Report, build_report, exercise_info, history_of, summarize_architecture
from grader.rubric import load_rubric
from grader.sandbox import Limits, SandboxRun, run_script
from grader.sources import SourceError, read_submission, submission_noun
from grader.retrain import allowlist
from grader.retrain.client import ResultCache, Retrainer, library_versions
from grader.text import inert

Status = Callable[[str], None]
MAX_SPECULATIONS = 8  # retrains started before the script ends (a script may compile in a loop)
GRADER_ERROR = "grader error"  # a report's reason when the grader failed: batch regrades it
T = TypeVar("T")


def grader_error(submission: str, exc: BaseException, rubric: Rubric) -> Report:
    """The report of a submission the grader's own code failed on: every check 0, the first
    saying "grader error: <what failed>" (inert, short); its reason ``GRADER_ERROR`` marks it
    as not final, so the next batch run grades it again."""
    from grader.report import failure_report

    reason = inert(f"{type(exc).__name__}: {exc}", 200)
    return failure_report(inert(submission, 500), f"{GRADER_ERROR}: {reason}",
                          "tell your instructor; it is graded again on the next run", rubric,
                          note=GRADER_ERROR)


def _same(report: Report) -> Report:
    return report


def guarded(submission: str, rubric: Rubric, make: Callable[[], Report],
            show: Callable[[Report], T] = _same) -> tuple[Report, T]:
    """``make()`` (grade, or read back a report) and ``show`` of it (format it, write it); when
    either raises, ``grader_error``'s report for ``submission`` and ``show`` of that instead.

    The one catch-all of every path, so that one submission can never stop the others or crash
    the grader. Ctrl-C (``KeyboardInterrupt``) and ``SystemExit`` still go through.
    """
    try:
        report = make()
        return report, show(report)
    except Exception as exc:  # noqa: BLE001 - the grader's failure costs this submission only
        report = grader_error(submission, exc, rubric)
        return report, show(report)


def _syntax_error(source: str, filename: str) -> ErrorInfo | None:
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return ErrorInfo("SyntaxError", exc.msg or str(exc), exc.lineno, (exc.text or "").strip(),
                         "syntax")
    except (ValueError, RecursionError, MemoryError) as exc:
        return ErrorInfo(type(exc).__name__, str(exc)[:300], None, "", "syntax")
    return None


def _writes_confined(obs: Observation) -> bool:
    """Could the script write only in its own directory? (Else it could have forged a cached
    retrain result, so the cache is not read for it.) No run at all wrote nothing."""
    return not obs.protections or obs.protections.get("landlock_fs", "").startswith("applied")


def training_request(obs: Observation, rubric: Rubric) -> RetrainRequest | TrainingResult | None:
    """What the trusted trainer should train, a refusal, or None when there is no compiled model."""
    if obs.model is None or not obs.model.layers or obs.compile is None or obs.tampered:
        return None
    if obs.model.problem:
        return TrainingResult("refused", obs.model.problem)
    exercise = rubric.exercise
    n_features = int(exercise["n_features"])
    model_config = retrain_config(obs.model.config, n_features)
    try:
        for part in (model_config, obs.compile.loss_config, obs.compile.optimizer_config):
            allowlist.validate(part)
    except allowlist.Refused as exc:
        return TrainingResult("refused", str(exc))
    weights = allowlist.count_weights([(l.kind, l.units) for l in obs.model.layers], n_features)
    limit = int(rubric.limits["max_parameters"])
    if weights > limit:
        return TrainingResult("refused", f"the model has {weights:,} weights; the grader "
                                         f"retrains models of at most {limit:,}")
    return RetrainRequest(
        one_hot_labels=(obs.label_width or 1) > 1,  # fit saw one-hot rows
        model_config=model_config, max_parameters=limit,
        loss=obs.compile.loss_config, loss_name=obs.compile.loss or "",
        from_logits=obs.compile.from_logits, optimizer=obs.compile.optimizer_config,
        output_activation=output_activation(obs.model),
        n_features=n_features, epochs=int(exercise["epochs"]),
        batch_size=int(exercise["batch_size"]), seed=int(rubric.data["seed"]),
        data=dict(rubric.data))


_EVENT_STATUS = {"data": "{your} made its data", "split": "{your} split its data",
                 "compile": "{your} compiled a model",
                 "fit": "{your} trained its model (shortened: the grader retrains it)",
                 "evaluate": "{your} evaluated its model"}


def grade(path: Path, options: GradeOptions = GradeOptions(), on_status: Status | None = None,
          rubric: Rubric | None = None, *, retrainer: Retrainer | None = None,
          runner: Callable[..., SandboxRun] = run_script,
          extra_files: dict[str, bytes] | None = None) -> Report:
    """Grade one ``.py`` or ``.ipynb`` submission and return its report.

    Args:
        path: the submission.
        options: limits, mode and cache settings.
        on_status: called with a short text at each stage (for a live status line).
        rubric: an already loaded rubric (default: ``options.rubric_path``).
        retrainer: a shared retrainer (batch grading keeps one worker warm); closed here only
            when this call made it.
        runner: runs the script in a sandbox; same signature as ``sandbox.run_script``.
        extra_files: more files for the sandbox's work directory (a student's helper modules).
    """
    rubric = rubric or load_rubric(options.rubric_path, options.exercise)
    return guarded(str(path), rubric, lambda: _grade(
        Path(path), options, on_status or (lambda text: None), rubric, retrainer, runner,
        extra_files))[0]


def _grade(path: Path, options: GradeOptions, status: Status, rubric: Rubric,
           retrainer: Retrainer | None, runner: Callable[..., SandboxRun],
           extra_files: dict[str, bytes] | None) -> Report:
    own_retrainer = retrainer is None
    if own_retrainer:
        cache_dir = cache_directory(options)
        retrainer = Retrainer(rubric, ResultCache(cache_dir) if cache_dir else None)
    started = time.monotonic()
    try:
        obs = _observe(path, options, rubric, retrainer, status, runner, extra_files)
        training = None
        request = training_request(obs, rubric)
        if isinstance(request, TrainingResult):
            training = request
        elif request is not None:
            training = _retrain(request, retrainer, max(1, options.trials), status,
                                trust_cache=_writes_confined(obs))
    finally:
        if own_retrainer:
            retrainer.close()
    return report_of(str(path), obs, training, rubric, options, time.monotonic() - started)


def report_of(submission: str, obs: Observation, training: TrainingResult | None,
              rubric: Rubric, options: GradeOptions = GradeOptions(),
              seconds: float = 0.0) -> Report:
    """The report on what the sandbox observed and the trusted retrain gave: the checks, the
    bonus challenges, the metrics and the architecture (the grader's work after the sandbox)."""
    results = run_checks(obs, training, rubric)
    return build_report(
        submission, results, rubric, not_started=is_not_started(obs), tampered=obs.tampered,
        metrics=_metrics(obs, training, rubric),
        info=_info(obs, training, rubric, options, seconds),
        architecture=summarize_architecture(obs), bonuses=run_bonuses(obs, rubric),
        history=history_of(training),
        figures=() if obs.tampered else obs.figures,  # forged evidence earns no bonus either
    )


def trial_requests(request: RetrainRequest, trials: int) -> list[RetrainRequest]:
    """The request for each of ``trials`` data seeds: the rubric's, then the next ones (data
    and starting weights both change)."""
    data = request.data or {}
    return [request] + [dataclasses.replace(request, seed=request.seed + i,
                                            data={**data, "seed": int(data["seed"]) + i})
                        for i in range(1, trials)]


def _retrain(request: RetrainRequest, retrainer: Retrainer, trials: int, status: Status,
             trust_cache: bool) -> TrainingResult:
    """The grader's retrain; with several trials, the first one's numbers and curves with the
    median test accuracy of all (a failed trial is the result)."""
    results = []
    for number, each in enumerate(trial_requests(request, trials), start=1):
        label = f" (trial {number}/{trials})" if trials > 1 else ""
        status(f"retraining your model on the grader's data{label}")
        result = retrainer.result(
            each, on_progress=lambda k, n: status(f"retraining your model{label}: epoch {k}/{n}"),
            trust_cache=trust_cache)
        if result.status != "ok":
            return result
        results.append(result)
    if trials == 1:
        return results[0]
    accuracies = tuple(r.test_accuracy for r in results)
    return dataclasses.replace(results[0], test_accuracy=statistics.median(accuracies),
                               trials=accuracies, seconds=round(sum(r.seconds for r in results), 2),
                               cached=all(r.cached for r in results))


def _observe(path: Path, options: GradeOptions, rubric: Rubric, retrainer: Retrainer,
             status: Status, runner: Callable[..., SandboxRun],
             extra_files: dict[str, bytes] | None) -> Observation:
    """Read the submission and run it in the sandbox; retraining starts as soon as it compiles."""
    try:
        submission = read_submission(path)
    except SourceError as exc:
        return Observation(status="error", error=ErrorInfo("UnreadableFile", str(exc), None, "", "syntax"))
    error = _syntax_error(submission.source, path.name)
    if error is not None:
        return Observation(status="error", error=error, source=submission.source)
    retrainer.start()  # TensorFlow imports in the trusted worker while the script runs
    your = f"your {submission_noun(submission.source)}"
    guesses = [MAX_SPECULATIONS]

    def on_event(event: dict) -> None:
        if event.get("event") in _EVENT_STATUS:
            status(_EVENT_STATUS[event["event"]].format(your=your))
        if event.get("event") in ("compile", "fit") and guesses[0] > 0:
            # each such event carries the whole model and its compile settings
            request = training_request(observe(SandboxRun((event,), "", "", "exited", 0, 0.0, 0.0)),
                                       rubric)
            if isinstance(request, RetrainRequest):
                guesses[0] -= 1
                retrainer.speculate(request)

    status(f"running {your} in the sandbox")
    limits = Limits(timeout_seconds=float(options.timeout or rubric.limits["timeout_seconds"]),
                    memory_mb=int(options.memory_mb or rubric.limits["memory_mb"]),
                    output_kb=int(rubric.limits["output_kb"]),
                    max_tasks=int(rubric.limits["max_processes"]),
                    disk_mb=int(rubric.limits["disk_mb"]))
    run = runner(submission.script_name, submission.source.encode("utf-8"), limits=limits,
                 full=options.full, extra_files=extra_files, on_event=on_event)
    obs = observe(run, submission.source)
    if obs.tampered:
        return obs
    return dataclasses.replace(obs, tampered=tampering(submission.source, extra_files))


def _metrics(obs: Observation, training: TrainingResult | None, rubric: Rubric) -> dict:
    threshold = float(rubric.exercise["accuracy_threshold"])
    accuracy = training.test_accuracy if training else None
    return {
        "test_accuracy": accuracy,
        "val_accuracy": training.val_accuracy if training else None,
        "first_loss": training.first_loss if training else None,
        "last_loss": training.last_loss if training else None,
        "accuracy_threshold": threshold,
        "borderline": accuracy is not None and
        abs(accuracy - threshold) <= float(rubric.exercise["borderline_margin"]),
        "script_accuracy": (obs.test_accuracies[-1] if obs.test_accuracies and not obs.tampered
                            else None),
        "trial_accuracies": list(training.trials) if training and training.trials else None,
        "accuracy_spread": (round(max(training.trials) - min(training.trials), 4)
                            if training and training.trials else None),
        "train_seconds": training.seconds if training else None,
        "train_cached": training.cached if training else False,
        "run_seconds": round(obs.wall_seconds, 2),
        "peak_memory_mb": obs.peak_memory_mb,
        "train_peak_memory_mb": training.peak_memory_mb if training else None,
    }


def _info(obs, training, rubric, options, seconds) -> dict:
    versions = {**library_versions(), **(training.versions if training else {})}
    return {
        "grader_version": __version__,
        **exercise_info(rubric),
        "tensorflow": versions.get("tensorflow"),
        "keras": versions.get("keras"),
        "retrain_backend": versions.get("backend"),
        "retrain_engine": (training.engine or versions.get("backend")) if training else None,
        "jax": versions.get("jax"),
        "numpy": versions.get("numpy"),
        "numba": versions.get("numba"),
        "rubric_sha256": rubric.short_hash,
        "data_seed": int(rubric.data["seed"]),
        "mode": "full" if options.full else "fast",
        "graded_model": obs.graded or None,  # which model the checks judged, and why
        "script_training_shortened": obs.shortened,
        "script_backend": obs.backend or None,
        "script_rerun_because": obs.rerun_because or None,
        "missing_protections": sorted(k for k, v in obs.protections.items()
                                      if not v.startswith("applied")),
        "limits_enforced_by": obs.limits_enforced_by,
        "output_truncated": obs.output_truncated,
        "seconds": round(seconds, 2),
    }
