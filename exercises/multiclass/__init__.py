"""The lesson's ten-class model (its "Architecture 2"): a multilayer perceptron on 784 synthetic
features with L2, Dropout and a softmax over ten classes (the second exercise)."""

from pathlib import Path

from exercises.multiclass.checks import REGISTRY
from exercises.multiclass.tables import Parameters
from grader.exercise import Exercise
from grader.retrain.data import ClassificationData, classification_problems

HERE = Path(__file__).resolve().parent

EXERCISE = Exercise(
    name="multiclass",
    title="Ten classes: a regularised softmax classifier",
    root=HERE.parent.parent,
    package=Path("exercises/multiclass"),
    sheet=Path("exercises/multiclass/sheet.md"),
    template=Path("assignment/multiclass_classifier.py"),
    solution=Path("solution/multiclass_classifier.py"),
    rubric=Path("exercises/multiclass/rubric.toml"),
    registry=REGISTRY,
    parameters=Parameters,
    data=ClassificationData,
    validate=classification_problems,
    notebook=Path("nbgrader/source/multiclass/multiclass_classifier.ipynb"),
    steps={
        1: ("data",),
        2: ("split",),
        3: ("hidden_layers", "decreasing_widths", "l2", "dropout", "hidden_activations",
            "output_layer"),
        4: ("loss", "optimizer"),
        5: ("training",),
        6: ("prints_accuracy",),
    },
    final_checks=("runs", "loss_decreases", "accuracy"),
    heading="Ten-class classifier",
)
