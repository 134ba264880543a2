"""The naive baseline: one FastAPI endpoint that calls a transformers pipeline once per request.

    NAIVE_MODEL_DIR=/path/to/merged NAIVE_MAX_TOKENS=256 uvicorn tp.serving.benchmark.naive_app:app

What many first deployments look like: no batching, a sync endpoint in FastAPI's thread pool.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from transformers import pipeline

    state["classifier"] = pipeline("text-classification", model=os.environ["NAIVE_MODEL_DIR"], device=-1)
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/predict")
def predict(body: dict[str, Any]) -> dict[str, Any]:
    max_tokens = int(os.environ.get("NAIVE_MAX_TOKENS", "256"))
    result = state["classifier"](body["inputs"], truncation=True, max_length=max_tokens)
    return {"predictions": result}
