"""Serving conditions the API layer maps to status codes: too large an input (413), and conditions that
are not the client's fault (503 with Retry-After; 500 for a failed forward pass, 504 past the timeout)."""

from __future__ import annotations

from tp.errors import InputError, TpError


class TooLargeError(InputError):
    """An input is larger than the server takes (an image's bytes): the API answers 413."""


class NotFoundError(InputError):
    """A request names something the server does not have (a training job's id): the API answers 404."""


class ConflictError(InputError):
    """A request that the current state forbids (cancel a finished job, serve a failed one): 409."""


class UnavailableError(TpError):
    """The server cannot take this request now; `retry_after` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class OverloadedError(UnavailableError):
    """The model's queue is full: past the queue limit requests are refused, never buffered."""


class NotReadyError(UnavailableError):
    """Models are still loading (or failed to load)."""


class ModelFailedError(TpError):
    """A model's forward pass raised: that request gets a 500 naming the model; the server goes on."""


class ModelTimeoutError(TpError):
    """A request waited longer than TP_REQUEST_TIMEOUT_S for its model: the API answers 504."""
