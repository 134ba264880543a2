"""Baselines for multi-label and regression runs (and text pairs), fitted on train and scored on test.

Multi-label:
- `majority`: the most frequent training label set on every row (often the empty set);
- `chance`: each label guessed independently at its training frequency (expected counts, computed exactly);
- `frequent`: the most frequent training labels on every row, as many as maximise micro-F1 on train (what
  tuning thresholds can make of a model that learned nothing: every row above the thresholds of common labels);
- `tfidf_logreg`: TF-IDF + one-vs-rest logistic regression with balanced class weights.
Regression:
- `mean`: the training mean on every row (R² ~ 0; correlations 0);
- `tfidf_ridge`: TF-IDF + ridge regression.
Pairs: TF-IDF of each text and their element-wise product (what the two share), side by side.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from tp.evaluation.problem_metrics import multi_label_metrics, regression_metrics

DESCRIPTIONS = {
    "majority": "the most frequent training label set on every row",
    "chance": "each label guessed at its training frequency (expected scores)",
    "frequent": "the training set's most frequent labels on every row (as many as maximise micro-F1 on train)",
    "tfidf_logreg": "TF-IDF (word 1-2 grams, sublinear tf) + one-vs-rest logistic regression, balanced",
    "mean": "the training mean on every row",
    "tfidf_ridge": "TF-IDF (word 1-2 grams, sublinear tf) + ridge regression",
}
PAIR_NOTE = "; pairs: each text's TF-IDF and their element-wise product"


def text_features(train: dict[str, list], test: dict[str, list]) -> tuple[Any, Any]:
    """TF-IDF features of train and test rows; for pairs, [a, b, a*b] with one vocabulary for both texts."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    if "text_pair" not in train:
        return vectorizer.fit_transform(train["text"]), vectorizer.transform(test["text"])
    vectorizer.fit(train["text"] + train["text_pair"])

    def pair(split: dict[str, list]) -> Any:
        a, b = vectorizer.transform(split["text"]), vectorizer.transform(split["text_pair"])
        return hstack([a, b, a.multiply(b)]).tocsr()

    return pair(train), pair(test)


def _summary(metrics: dict[str, Any], keys: tuple[str, ...]) -> dict[str, float]:
    return {key: round(float(metrics[f"test_{key}"]), 4) for key in keys}


MULTI_KEYS = ("micro_f1", "macro_f1", "accuracy", "hamming_loss")
REGRESSION_KEYS = ("rmse", "mae", "r2", "pearson", "spearman")


def _chance_multi_label(p_train: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """Expected scores of guessing label j with probability p_train[j] on every row."""
    positives = y_test.sum(axis=0)
    n = len(y_test)
    tp, fp, fn = positives * p_train, (n - positives) * p_train, positives * (1 - p_train)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1e-12)
    per_label = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    subset = float(np.mean(np.prod(np.where(y_test == 1, p_train, 1 - p_train), axis=1))) if n else 0.0
    hamming = float(np.mean(np.where(y_test == 1, 1 - p_train, p_train))) if n else 0.0
    return {"micro_f1": round(float(micro), 4), "macro_f1": round(float(per_label.mean()), 4),
            "accuracy": round(subset, 4), "hamming_loss": round(hamming, 4)}


def frequent_labels(y_train: np.ndarray) -> list[int]:
    """The constant label set with the best training micro-F1: the most frequent labels, added while it grows."""
    positives, rows = y_train.sum(axis=0), len(y_train)
    chosen: list[int] = []
    best = 0.0
    for j in np.argsort(-positives, kind="stable"):
        tp = positives[[*chosen, j]].sum()
        fp = rows * (len(chosen) + 1) - tp
        f1 = 2 * tp / (2 * tp + fp + (positives.sum() - tp)) if tp else 0.0
        if f1 <= best:
            break
        chosen, best = [*chosen, int(j)], f1
    return chosen


def multi_label_baselines(splits: dict[str, dict[str, list]], labels: list[str]) -> dict[str, dict[str, Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    train, test = splits["train"], splits["test"]
    y_train, y_test = np.asarray(train["label"], dtype=int), np.asarray(test["label"], dtype=int)
    top_set, _ = Counter(map(tuple, y_train)).most_common(1)[0]
    majority = multi_label_metrics(y_test, np.tile(top_set, (len(y_test), 1)), labels)
    found: dict[str, dict[str, Any]] = {
        "majority": {**_summary(majority, MULTI_KEYS),
                     "predicts": [labels[i] for i, on in enumerate(top_set) if on]},
        "chance": _chance_multi_label(y_train.mean(axis=0), y_test),
    }
    frequent = frequent_labels(y_train)
    constant = np.zeros(len(labels), dtype=int)
    constant[frequent] = 1
    found["frequent"] = {**_summary(multi_label_metrics(y_test, np.tile(constant, (len(y_test), 1)), labels),
                                    MULTI_KEYS), "predicts": [labels[j] for j in frequent]}
    learnable = [j for j in range(len(labels)) if 0 < y_train[:, j].sum() < len(y_train)]
    if learnable:
        x_train, x_test = text_features(train, test)
        model = OneVsRestClassifier(LogisticRegression(max_iter=2000, class_weight="balanced"))
        predicted = np.zeros_like(y_test)
        predicted[:, learnable] = model.fit(x_train, y_train[:, learnable]).predict(x_test)
        for j in range(len(labels)):  # a label always (never) on in train: predict it always (never)
            if j not in learnable:
                predicted[:, j] = int(y_train[0, j])
        found["tfidf_logreg"] = _summary(multi_label_metrics(y_test, predicted, labels), MULTI_KEYS)
    return _described(found, "text_pair" in train)


def regression_baselines(splits: dict[str, dict[str, list]]) -> dict[str, dict[str, Any]]:
    from sklearn.linear_model import Ridge

    train, test = splits["train"], splits["test"]
    y_train, y_test = np.asarray(train["label"], dtype=float), np.asarray(test["label"], dtype=float)
    mean = float(y_train.mean())
    found: dict[str, dict[str, Any]] = {
        "mean": {**_summary(regression_metrics(y_test, np.full(len(y_test), mean)), REGRESSION_KEYS),
                 "predicts": round(mean, 4)}}
    x_train, x_test = text_features(train, test)
    predicted = Ridge(alpha=1.0).fit(x_train, y_train).predict(x_test)
    found["tfidf_ridge"] = _summary(regression_metrics(y_test, predicted), REGRESSION_KEYS)
    return _described(found, "text_pair" in train)


def _described(found: dict[str, dict[str, Any]], pairs: bool) -> dict[str, dict[str, Any]]:
    return {name: {**scores, "description": DESCRIPTIONS[name] + (PAIR_NOTE if pairs and name.startswith("tfidf")
                                                                   else "")}
            for name, scores in found.items()}
