"""Baselines every run is judged against, on its own test split: cheap, offline, scikit-learn only.

- `majority`: always the most frequent training label (what a model that learned nothing predicts).
- `chance`: guessing at random with the training label frequencies; its scores are the expected values,
  computed exactly (accuracy = sum p_test * p_train; per class F1 = 2 p_test p_train / (p_test + p_train)).
- `tfidf_logreg` (texts): TF-IDF of word 1-2 grams (sublinear tf) + logistic regression with balanced
  class weights, the classic strong linear baseline of text classification.
- `pixels_logreg` (images): logistic regression on the images downscaled to 16x16 greyscale pixels.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Problem

DESCRIPTIONS = {
    "majority": "always the most frequent training label",
    "chance": "random guesses with the training label frequencies (expected scores)",
    "tfidf_logreg": "TF-IDF (word 1-2 grams, sublinear tf) + logistic regression, balanced class weights",
    "pixels_logreg": "logistic regression on 16x16 greyscale pixels, balanced class weights",
}
PIXELS = 16  # downscaled side: enough for digits and coarse shapes, ~256 features


def _scores(y_true: list[int], y_pred: list[int], num_labels: int) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    ids = list(range(num_labels))
    return {"accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "macro_f1": round(float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)), 4)}


def majority_baseline(train_labels: list[int], test_labels: list[int], num_labels: int) -> dict[str, Any]:
    label = Counter(train_labels).most_common(1)[0][0]
    return {**_scores(test_labels, [label] * len(test_labels), num_labels), "predicts": label}


def chance_baseline(train_labels: list[int], test_labels: list[int], num_labels: int) -> dict[str, float]:
    """Expected accuracy and macro-F1 of guessing each row's label from the training frequencies."""
    train, test = Counter(train_labels), Counter(test_labels)
    p_train = [train[i] / len(train_labels) for i in range(num_labels)]
    p_test = [test[i] / len(test_labels) for i in range(num_labels)]
    f1 = [2 * a * b / (a + b) if a + b else 0.0 for a, b in zip(p_test, p_train, strict=True)]
    return {"accuracy": round(sum(a * b for a, b in zip(p_test, p_train, strict=True)), 4),
            "macro_f1": round(sum(f1) / num_labels, 4)}


def _logistic_regression() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, class_weight="balanced")


def tfidf_baseline(train: dict[str, list], test: dict[str, list], num_labels: int) -> dict[str, float]:
    from tp.evaluation.baselines_beyond import text_features

    x_train, x_test = text_features(train, test)  # pairs: each text and what they share
    model = _logistic_regression().fit(x_train, train["label"])
    return _scores(test["label"], model.predict(x_test).tolist(), num_labels)


def _pixels(items: list[Any]) -> Any:
    import numpy as np

    from tp.data.images import open_image

    rows = [np.asarray(open_image(item).convert("L").resize((PIXELS, PIXELS)), dtype=np.float32).ravel() / 255.0
            for item in items]
    return np.stack(rows)


def pixels_baseline(train: dict[str, list], test: dict[str, list], num_labels: int) -> dict[str, float]:
    model = _logistic_regression().fit(_pixels(train["image"]), train["label"])
    return _scores(test["label"], model.predict(_pixels(test["image"])).tolist(), num_labels)


def compute_baselines(splits: dict[str, dict[str, list]], labels: list[str],
                      problem: Problem = SINGLE_LABEL) -> dict[str, dict[str, Any]]:
    """Every baseline's test scores, fitted on the train split (texts, pairs or images), for the run's problem."""
    from tp.evaluation import baselines_beyond

    if problem is MULTI_LABEL:
        return baselines_beyond.multi_label_baselines(splits, labels)
    if problem is REGRESSION:
        return baselines_beyond.regression_baselines(splits)
    train, test, num_labels = splits["train"], splits["test"], len(labels)
    majority = majority_baseline(train["label"], test["label"], num_labels)
    found: dict[str, dict[str, Any]] = {
        "majority": {**majority, "predicts": labels[majority["predicts"]]},
        "chance": chance_baseline(train["label"], test["label"], num_labels),
    }
    if len(set(train["label"])) > 1:  # a linear model needs two classes to fit
        if "image" in train:
            found["pixels_logreg"] = pixels_baseline(train, test, num_labels)
        else:
            found["tfidf_logreg"] = tfidf_baseline(train, test, num_labels)
    return {name: {**scores, "description": DESCRIPTIONS[name]} for name, scores in found.items()}


def strongest_learned(baselines: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The trained (linear) baseline, if the run has one: the bar a fine-tuned transformer should clear."""
    for name in ("tfidf_logreg", "tfidf_ridge", "pixels_logreg"):
        if name in baselines:
            return name, baselines[name]
    return None
