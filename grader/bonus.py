"""The engine's bonus challenges: ``challenge(observation) -> BonusResult`` functions that an
exercise registers (``Registry.bonus``) under their own names, or calls from its own.

They work on the ``Observation`` alone (no I/O, no TensorFlow) and never raise for a
student's choice. A message says what was found and, when the challenge is not done, what would
complete it; a challenge that is *almost* done says what is missing.

Bonus points are extra credit: the rubric's ``[bonus]`` points (0 by default: shown, not scored)
add to the score, never to ``max_score``.
"""

from __future__ import annotations

import functools
import io
import tokenize

from grader import exercise
from grader.core.results import BonusResult
from grader.checks import printed_accuracy
from grader.observation import FitCall, Observation

# Keras' learning-rate callbacks, and its schedule classes (``keras.optimizers.schedules``)
SCHEDULE_CALLBACKS = ("LearningRateScheduler", "ReduceLROnPlateau")
SCHEDULE_CLASSES = ("ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
                    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
                    "LearningRateSchedule")
LOSS_KEYS = ("loss", "val_loss")


def done(message: str) -> BonusResult:
    return BonusResult("", True, message)


def not_done(message: str) -> BonusResult:
    return BonusResult("", False, message)


@functools.lru_cache(maxsize=32)
def _names(source: str) -> frozenset[str]:
    """The names the script's code uses (comments and strings do not count)."""
    found = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME:
                found.add(token.string)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return frozenset(found)


def _mentioned(obs: Observation, names) -> list[str]:
    written = [name for name in names if name in obs.source]  # else no need to tokenize it
    used = _names(obs.source) if written else frozenset()
    return [name for name in written if name in used]


def _trained(obs: Observation) -> tuple[FitCall, ...]:
    return tuple(fit for fit in obs.all_fits or obs.fits if fit.completed)


def _quoted(names) -> str:
    return ", ".join(names)


# ---------------------------------------------------------------- the challenges

def early_stopping(obs: Observation) -> BonusResult:
    how = "add EarlyStopping(monitor='val_loss', patience=5) to fit's callbacks"
    found = [(fit, callback) for fit in _trained(obs) for callback in fit.callback_settings
             if callback.kind == "EarlyStopping"]
    good = [(fit, c) for fit, c in found if c.monitor.startswith("val_") and fit.validates]
    if good:
        return done(f"EarlyStopping(monitor='{good[0][1].monitor}') stops training when the "
                    "validation metric stops improving")
    if found:
        fit, callback = found[0]
        if callback.monitor.startswith("val_"):
            return not_done(f"almost: EarlyStopping monitors '{callback.monitor}', but that fit "
                            "holds out no validation data, so there is nothing to monitor; add "
                            "validation_split=0.2")
        monitor = callback.monitor or "an unknown quantity"
        return not_done(f"almost: EarlyStopping monitors '{monitor}', a training metric, so it "
                        "cannot notice overfitting; use monitor='val_loss' (or 'val_accuracy')")
    if any("EarlyStopping" in fit.callbacks for fit in _trained(obs)):
        return not_done("almost: fit used EarlyStopping, but what it monitors was not recorded; "
                        "give it monitor='val_loss'")
    if _mentioned(obs, ["EarlyStopping"]):
        return not_done(f"almost: your script names EarlyStopping, but no fit used it; {how}")
    return not_done(f"not tried: {how}")


def _optimizer_schedule(obs: Observation) -> str:
    """The class of a schedule object given as the optimizer's learning_rate, else ""."""
    optimizer = obs.compile.optimizer_config if obs.compile else None
    config = optimizer.get("config") if isinstance(optimizer, dict) else None
    rate = config.get("learning_rate") if isinstance(config, dict) else None
    if isinstance(rate, dict):
        name = rate.get("class_name")
        return name[:60] if isinstance(name, str) and name else "a schedule"
    return ""


def lr_schedule(obs: Observation) -> BonusResult:
    how = ("add ReduceLROnPlateau or LearningRateScheduler to fit's callbacks, or use "
           "learning_rate=ExponentialDecay(...)")
    used = [c.kind for fit in _trained(obs) for c in fit.callback_settings
            if c.kind in SCHEDULE_CALLBACKS] or \
        [name for fit in _trained(obs) for name in fit.callbacks if name in SCHEDULE_CALLBACKS]
    if used:
        return done(f"{used[0]} changes the learning rate during training")
    schedule = _optimizer_schedule(obs)
    if schedule:
        return done(f"the optimizer's learning rate follows {schedule}")
    named = _mentioned(obs, SCHEDULE_CALLBACKS + SCHEDULE_CLASSES)
    if named:
        return not_done(f"almost: your script defines {_quoted(named)}, but neither fit's "
                        f"callbacks nor the optimizer use it; {how}")
    return not_done(f"not tried: {how}")


def loss_plot(obs: Observation) -> BonusResult:
    how = "plot history.history['loss'] and ['val_loss'] in one figure"
    both = [f for f in obs.figures if all(key in f.plotted for key in LOSS_KEYS)]
    if both:
        title = f" ('{both[0].title}')" if both[0].title else ""
        return done(f"your figure{title} plots the training and the validation loss")
    for figure in obs.figures:
        present = [key for key in LOSS_KEYS if key in figure.plotted]
        if present:
            missing = next(key for key in LOSS_KEYS if key not in present)
            return not_done(f"almost: your figure plots only '{present[0]}'; add "
                            f"history.history['{missing}'] to compare training and validation")
    if any(figure.plotted for figure in obs.figures):
        keys = sorted({key for figure in obs.figures for key in figure.plotted})
        return not_done(f"almost: your figures plot {_quoted(keys)}, not the loss; {how}")
    if obs.figures:
        return not_done(f"almost: your script drew {len(obs.figures)} figure"
                        f"{'s' if len(obs.figures) > 1 else ''}, but none plots the training "
                        f"history; {how}")
    return not_done(f"not tried: {how}")


def _rates(rates: tuple[float, ...]) -> str:
    return "/".join(f"{rate:g}" for rate in rates) if rates else "no Dropout"


def _compared(obs: Observation, setting, label, what: str, how: str) -> BonusResult:
    """Done when the script trained models under two or more values of ``setting(fit)`` (named
    by ``label``) and printed each one's test accuracy; ``what`` names the setting ("Dropout
    settings"), ``how`` says how to complete the challenge."""
    models: dict = {}
    for fit in _trained(obs):
        uids = models.setdefault(setting(fit), [])
        if fit.model_uid not in uids:
            uids.append(fit.model_uid)
    if len(models) < 2:
        return not_done(f"not tried: {how}")
    printed, silent = [], []
    for value, uids in models.items():
        accuracies = [a for e in obs.evaluations if e.model_uid in uids for a in e.accuracies]
        shown = accuracies and printed_accuracy(obs.stdout, accuracies, obs.source)
        (printed if shown else silent).append(label(value))
    if not silent:
        return done(f"compared {len(models)} {what} ({', '.join(printed)}) and printed "
                    "each one's result")
    tried = ", ".join(label(value) for value in models)
    return not_done(f"almost: trained {len(models)} {what} ({tried})"
                    f", but your output shows no accuracy for {', '.join(silent)}; print each "
                    "model's test accuracy (evaluate on the test split)")


def dropout_comparison(obs: Observation) -> BonusResult:
    return _compared(obs, lambda fit: fit.dropout_rates, _rates, "Dropout settings",
                     "train with Dropout 0.2, 0.3 and 0.5 and print each test accuracy")


def optimizer_comparison(obs: Observation) -> BonusResult:
    return _compared(obs, lambda fit: (fit.optimizer or "an unknown optimizer").lower(), str,
                     "optimizers", "train the same model with two optimizers (Adam and SGD, "
                     "say) and print each one's test accuracy")


# ---------------------------------------------------------------- the list

def run_bonuses(obs: Observation, rubric) -> list[BonusResult]:
    """Every challenge of the rubric's exercise, in its registry's order; tampered evidence earns
    none."""
    bonuses = exercise.get(rubric.exercise_name).registry.bonuses
    if obs.tampered:
        return [BonusResult(b, False, f"not counted: {obs.tampered}") for b in bonuses]
    return [bonus(obs) for bonus in bonuses.values()]
