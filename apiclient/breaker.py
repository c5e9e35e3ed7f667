"""The circuit breaker that stops a whole run once the endpoint looks unreachable or mostly failing."""

from __future__ import annotations

from collections import Counter

from apiclient.config import ClientConfig
from apiclient.messages import ChatResult


class EndpointDown(Exception):
    """The circuit breaker tripped: the endpoint is unreachable, or failing too often to go on."""


class CircuitBreaker:
    """Counts attempts and results of one run; raises EndpointDown when the endpoint looks dead."""

    UNREACHABLE = ("connection", "timeout")

    def __init__(self, cfg: ClientConfig):
        self.cfg = cfg
        self.consecutive = 0
        self.retries = 0
        self.succeeded = 0
        self.failed: Counter[str] = Counter()

    def answered(self) -> None:
        """The server sent a response (any status): it is reachable."""
        self.consecutive = 0

    def attempt_failed(self, kind: str, message: str) -> None:
        if kind not in self.UNREACHABLE:
            return self.answered()
        self.consecutive += 1
        if self.consecutive >= self.cfg.max_consecutive_failures:
            raise EndpointDown(f"endpoint {self.cfg.base_url} unreachable: {message} "
                               f"({self.consecutive} attempts in a row failed)")

    def finished(self, result: ChatResult) -> None:
        if result.ok:
            self.succeeded += 1
            return
        self.failed[result.error_kind or "error"] += 1
        done, bad = self.succeeded + sum(self.failed.values()), sum(self.failed.values())
        if done >= self.cfg.error_share_min_requests and bad / done > self.cfg.max_error_share:
            raise EndpointDown(f"endpoint {self.cfg.base_url} failing: {bad} of {done} requests failed "
                               f"(over max_error_share {self.cfg.max_error_share}); last: {result.error}")

    def postfix(self) -> dict[str, int]:
        return {"ok": self.succeeded, **self.failed, "retries": self.retries}
