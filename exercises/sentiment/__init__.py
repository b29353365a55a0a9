"""The movie-review sentiment sheet: a binary classifier, a multilayer perceptron on 500 synthetic
features with L2, Dropout and decreasing widths (the first exercise)."""

from pathlib import Path

from exercises.sentiment.checks import REGISTRY
from exercises.sentiment.tables import Parameters
from grader.exercise import Exercise
from grader.retrain.data import ClassificationData, classification_problems

HERE = Path(__file__).resolve().parent

EXERCISE = Exercise(
    name="sentiment",
    title="Movie review sentiment: a regularised binary classifier",
    root=HERE.parent.parent,
    package=Path("exercises/sentiment"),
    sheet=Path("exercises/sentiment/sheet.md"),
    template=Path("assignment/sentiment_classifier.py"),
    solution=Path("solution/sentiment_classifier.py"),
    rubric=Path("exercises/sentiment/rubric.toml"),
    registry=REGISTRY,
    parameters=Parameters,
    data=ClassificationData,
    validate=classification_problems,
    notebook=Path("nbgrader/source/sentiment/sentiment_classifier.ipynb"),
    steps={
        1: ("data",),
        2: ("split",),
        3: ("hidden_layers", "decreasing_widths", "l2", "dropout", "hidden_activations",
            "output_layer"),
        4: ("loss",),
        5: ("training",),
        6: ("prints_accuracy",),
    },
    final_checks=("runs", "loss_decreases", "accuracy"),
    heading="Sentiment classifier",
)
