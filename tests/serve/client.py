"""A small HTTP client for the service tests: status, headers, body and time of one request (stdlib only)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    raw: bytes
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


def call(url: str, path: str = "/v1/parse", body: Any = None, *, method: str = "POST",
         headers: dict[str, str] | None = None, chunks: Iterable[bytes] | None = None,
         timeout: float = 300) -> Answer:
    """One request. `body`: bytes as they are, anything else as JSON; `chunks`: a chunked body instead."""
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    head = {"Content-Type": "application/json", **(headers or {})}
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    t0 = time.monotonic()
    try:
        if chunks is not None:
            conn.request(method, path, body=iter(chunks), headers=head, encode_chunked=True)
        else:
            conn.request(method, path, body=data, headers=head)
        res = conn.getresponse()
        raw = res.read()
        return Answer(res.status, {k.lower(): v for k, v in res.getheaders()}, raw, time.monotonic() - t0)
    finally:
        conn.close()
