"""What POST /predict answers, one shape per problem (tp.tasks.Problem), in the OpenAPI document clients are
typed from.

A single-label model answers `Prediction` (as it always did); a multi-label one `MultiLabelPrediction` (it has
`labels`); a regression one `RegressionPrediction` (it has `value`). GET /models' `problem_type` says which a
model answers; a client can also tell them apart by those fields.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag


class LabelScore(BaseModel):
    label: str
    score: float = Field(description="Softmax probability, 0 to 1.")


class Prediction(BaseModel):
    """The result for one input of a single-label classifier."""

    model_config = ConfigDict(extra="forbid")  # so that a multi-label answer (with `labels`) is not one too

    label: str = Field(description="The most probable label.")
    score: float = Field(description="Its probability.")
    scores: list[LabelScore] = Field(description="Labels with probabilities, best first (cut to top_k).")
    truncated: bool = Field(description="True when the text was longer than max_tokens and was cut to fit "
                                        "(always false for images).")


class LabelThresholdScore(BaseModel):
    label: str
    score: float = Field(description="Sigmoid score, 0 to 1, of this label alone (the scores do not sum to 1).")
    threshold: float = Field(description="The score at or above which the label is predicted: the run's tuned "
                                         "threshold for this label, or the request's `threshold`.")


class MultiLabelPrediction(BaseModel):
    """The result for one input of a multi-label classifier: any number of labels may apply."""

    labels: list[str] = Field(description="The labels whose score reaches their threshold, best first (may be "
                                          "empty).")
    label: str = Field(description="The label with the highest score (whether or not it reaches its threshold).")
    score: float = Field(description="Its sigmoid score.")
    scores: list[LabelThresholdScore] = Field(description="Every label's score and threshold, best first (cut to "
                                                          "top_k).")
    truncated: bool = Field(description="True when the text (or pair) was longer than max_tokens and was cut.")


class RegressionPrediction(BaseModel):
    """The result for one input of a regression model."""

    value: float = Field(description="The predicted number, in the units of the training targets.")
    truncated: bool = Field(description="True when the text (or pair) was longer than max_tokens and was cut.")


def prediction_kind(value: Any) -> str:
    """Which shape an answer is (a model or its dict): the fields that only it has."""
    fields = value if isinstance(value, dict) else vars(value)
    return "regression" if "value" in fields else "multi_label" if "labels" in fields else "single_label"


AnyPrediction = Annotated[Annotated[Prediction, Tag("single_label")]
                          | Annotated[MultiLabelPrediction, Tag("multi_label")]
                          | Annotated[RegressionPrediction, Tag("regression")], Discriminator(prediction_kind)]


class PredictResponse(BaseModel):
    model: str = Field(description="The model that answered.")
    predictions: list[AnyPrediction] = Field(
        description="One per input, in the order sent: `Prediction` from a single-label model, "
                    "`MultiLabelPrediction` (with `labels`) from a multi-label one, `RegressionPrediction` (with "
                    "`value`) from a regression one (GET /models' `problem_type`).")
