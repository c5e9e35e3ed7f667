"""What went wrong with one attempt: retryable faults, final refusals, and the server's Retry-After."""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

import openai

from apiclient.messages import ChatResult


class Retryable(Exception):
    def __init__(self, kind: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind, self.retry_after = kind, retry_after


class BodyRefused(Exception):
    """A response body refused while it was read: final, unlike the faults that retrying can fix."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _seconds(value: str, scale: float = 1.0) -> float | None:
    try:
        seconds = float(value) / scale
    except ValueError:
        return None
    return None if math.isnan(seconds) else max(0.0, seconds)


def _retry_after(headers: Any) -> float | None:
    """The server's requested wait in seconds, uncapped (inf allowed); None when absent or unreadable."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None and (wait := _seconds(ms, 1000)) is not None:
        return wait
    value = headers.get("retry-after")
    if value is None:
        return None
    if (wait := _seconds(value)) is not None:
        return wait
    try:  # the HTTP-date form
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def classify(exc: Exception) -> Retryable | ChatResult:
    """A retryable fault, or a final error result for faults that retrying cannot fix."""
    if isinstance(exc, BodyRefused):
        return ChatResult(None, attempts=1, error=str(exc), error_kind=exc.kind)
    if isinstance(exc, openai.APITimeoutError):
        return Retryable("timeout", "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Retryable("connection", f"connection error ({exc})")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        detail = str(exc.message).removeprefix(f"Error code: {code} - ")  # the SDK's prefix repeats the code
        message = f"HTTP {code}: {detail[:200]}"
        if code == 429 or code >= 500:
            return Retryable(f"http_{code}", message, _retry_after(exc.response.headers))
        return ChatResult(None, attempts=1, error=message, error_kind=f"http_{code}")
    raise exc
