"""What the checks may know about one run of a submission: plain frozen data.

``grader.observation.observe`` builds it from the sandbox's untrusted events, validating every
value; nothing here reads an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Layer:
    """One layer in the model's forward order, reduced to what the checks look at."""

    kind: str
    name: str = ""
    units: int | None = None
    activation: str | None = None  # own activation of Dense / Activation-like layers
    kernel_l2: float = 0.0
    kernel_l1: float = 0.0
    bias_l2: float = 0.0
    rate: float | None = None  # Dropout-family rate


@dataclass(frozen=True)
class ModelInfo:
    uid: int
    class_name: str
    layers: tuple[Layer, ...]
    config: dict | None  # the raw Keras config, for the trusted retrain
    input_dim: int | None = None
    problem: str | None = None  # why the grader cannot rebuild it, if it cannot


@dataclass(frozen=True)
class CompileInfo:
    loss: str | None  # canonical name, e.g. "binary_crossentropy"
    from_logits: bool
    loss_config: Any
    optimizer_config: Any
    optimizer: str | None
    has_accuracy_metric: bool


@dataclass(frozen=True)
class Callback:
    """One callback passed to ``fit``: its class and the quantity it watches ("" when none)."""

    kind: str
    monitor: str = ""


@dataclass(frozen=True)
class FitCall:
    epochs: Any
    batch_size: Any
    validation_split: Any
    has_validation_data: bool
    callbacks: tuple[str, ...]
    completed: bool
    callback_settings: tuple[Callback, ...] = ()
    model_uid: int | None = None
    dropout_rates: tuple[float, ...] = ()  # the trained model's Dropout-family rates, in order
    x_rows: int | None = None  # how many rows fit's x held (None: not an array)
    steps: int | None = None  # the training steps the call ran (fast mode: of its shortened run)
    label_width: int | None = None  # columns of fit's y: 1 for integer labels, k when one-hot
    optimizer: str | None = None  # the trained model's optimizer class ("Adam"), when known

    @property
    def trained(self) -> bool:
        """Did this call run a training step (or is that unknown)?"""
        return self.steps != 0

    @property
    def validates(self) -> bool:
        """Does this fit hold out validation data (so val_* metrics exist)?"""
        split = self.validation_split
        return self.has_validation_data or (isinstance(split, (int, float))
                                            and not isinstance(split, bool) and split > 0)


@dataclass(frozen=True)
class Evaluation:
    """What one ``evaluate`` (or ``predict`` on the test split) gave for one model."""

    model_uid: int | None
    accuracies: tuple[float, ...]
    on_test_split: bool
    rows: int | None = None  # how many rows it was given (None: not an array)


@dataclass(frozen=True)
class Figure:
    """A figure the script saved or showed: its title (or axis labels), a PNG, and the keys of
    the training history ("loss", "val_loss", ...) that its lines plot."""

    title: str
    png: bytes
    plotted: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    message: str
    lineno: int | None
    line: str
    kind: str  # exception | syntax | network | filesystem | memory | exit | timeout | killed


@dataclass(frozen=True)
class Observation:
    """Everything the checks may know about one run of a submission."""

    status: str  # completed | error | timeout | memory | processes | killed | no_start |
    #              grader_error (the sandbox failed before the script started)
    error: ErrorInfo | None = None
    tampered: str = ""  # why the sandbox's evidence cannot be believed ("" when it can)
    data_calls: tuple[dict, ...] = ()
    split_calls: tuple[dict, ...] = ()
    model: ModelInfo | None = None  # the graded model (see ``graded_uid``)
    graded: str = ""  # which model is graded and why ("`model`, trained and then evaluated ...")
    compile: CompileInfo | None = None
    fits: tuple[FitCall, ...] = ()  # the graded model's
    all_fits: tuple[FitCall, ...] = ()  # every model's, in order (a comparison of Dropout rates)
    evaluations: tuple[Evaluation, ...] = ()  # every model's evaluate/predict results, in order
    figures: tuple[Figure, ...] = ()
    test_accuracies: tuple[float, ...] = ()  # what evaluate/predict gave on the test split
    evaluated: bool = False
    stdout: str = ""
    stderr_accuracy_lines: str = ""  # stderr's lines that mention accuracy (tf.print writes there)
    source: str = ""
    protections: dict = field(default_factory=dict)
    shortened: bool = False
    wall_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    output_truncated: bool = False
    limits_enforced_by: str = ""
    backend: str = ""  # the Keras backend the script ran on (fast mode: NumPy, unless rerun)
    rerun_because: str = ""  # why fast mode ran it again on TensorFlow

    @property
    def test_split(self) -> dict | None:
        """The split cut from make_classification's rows (not a later validation split), else
        the first split."""
        rows = self.data_calls[-1].get("n_samples", 100) if self.data_calls else None
        for call in self.split_calls:
            parts = split_rows(call)
            if parts is not None and sum(parts) == rows:
                return call
        return self.split_calls[0] if self.split_calls else None

    @property
    def label_width(self) -> int | None:
        """Columns of the labels the graded model was trained on (1: integers, k: one-hot),
        when the last ``fit`` that showed them did."""
        widths = [fit.label_width for fit in self.fits if fit.label_width is not None]
        return widths[-1] if widths else None

    @property
    def split_rows(self) -> tuple[int, int] | None:
        """(training rows, test rows) of the test split, when its sizes are known."""
        return split_rows(self.test_split)


def split_rows(call: dict | None) -> tuple[int, int] | None:
    """The (first, second) row counts a ``train_test_split`` call returned, or None."""
    try:
        return int(call["shapes"][0][0]), int(call["shapes"][1][0])
    except (TypeError, ValueError, IndexError, KeyError):
        return None
