"""The sentiment rubric's own ``[exercise]`` keys, beyond what the engine reads."""

from dataclasses import dataclass

from grader.core.rubric import POSITIVE_INT, Protocol, Rule, rule


@dataclass(frozen=True, eq=True)
class Parameters(Protocol):
    """What the sheet asks of the model."""

    min_hidden_layers: int = rule(POSITIVE_INT, "hidden Dense layers the model needs at least")
    min_l2: float = rule(Rule(float, 0), "smallest L2 factor that counts")
    min_dropout: float = rule(Rule(float, 0, 1, high_open=True), "smallest Dropout rate that counts")
