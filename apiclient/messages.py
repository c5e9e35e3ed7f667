"""One chat request as sent (and keyed in the cache) and one result as returned to the caller."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from apiclient.config import ClientConfig

ANSWER_FAULTS = ("empty_response", "malformed_response", "response_too_large")  # error kinds of a bad body


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    model: str | None = None                 # None: the config's model
    temperature: float | None = None         # None: the config's
    max_tokens: int | None = None            # None: the config's
    response_format: dict[str, Any] | None = None
    seed: int | None = None

    def resolved(self, cfg: ClientConfig) -> ChatRequest:
        return ChatRequest(
            self.messages, self.model or cfg.model,
            cfg.temperature if self.temperature is None else self.temperature,
            cfg.max_tokens if self.max_tokens is None else self.max_tokens,
            self.response_format, self.seed,
        )

    def cache_key(self, base_url: str) -> str:
        """sha256 of everything that changes the answer; never the API key."""
        payload = {"base_url": base_url.rstrip("/"), "model": self.model, "messages": self.messages,
                   "response_format": self.response_format, "temperature": self.temperature,
                   "max_tokens": self.max_tokens, "seed": self.seed}
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ChatResult:
    content: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0          # the answering HTTP call; 0 when cached
    attempts: int = 0               # HTTP requests made for this result; 0 when cached
    cached: bool = False
    finish_reason: str | None = None
    error: str | None = None        # e.g. "HTTP 503 after 6 attempts: ..."
    error_kind: str | None = None   # http_429, http_500, timeout, connection, malformed_response, ...

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rejection(self) -> str | None:
        """The reason a caller counts a failed result under: a fault of the answer itself by its kind,
        every fault of getting one (status, timeout, connection) as http_error."""
        if self.ok:
            return None
        return self.error_kind if self.error_kind in ANSWER_FAULTS else "http_error"

    def json_answer(self) -> tuple[Any, str | None]:
        """The answer's parsed JSON, or why it has none: "truncated" when the length budget cut it,
        else "invalid_json". Call on an ok result."""
        try:
            return json.loads(self.content or ""), None
        except json.JSONDecodeError:
            return None, "truncated" if self.finish_reason == "length" else "invalid_json"
