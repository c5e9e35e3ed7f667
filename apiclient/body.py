"""A response body read with a size cap and checked field by field: nothing in a 200 is trusted."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from apiclient.faults import BodyRefused, Retryable


@dataclass
class Answer:
    content: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    refusal: str | None = None


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "true/false",
               type(None): "null"}


def _malformed(why: str) -> Retryable:
    return Retryable("malformed_response", f"malformed response ({why})")


def _token_count(usage: Mapping[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed(f"usage.{key} is not a non-negative integer: {str(value)[:40]!r}")
    return value


def read_answer(body: bytes) -> Answer:
    """The parts of a 200 body that we use, each checked; raises a malformed_response fault for any shape
    the chat completions API does not return (the SDK's models would let it through half-built)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # ValueError covers bad JSON and bad UTF-8
        raise _malformed(f"body is not JSON: {str(exc)[:100]}") from None
    if not isinstance(data, dict):
        raise _malformed(f"body is JSON {_JSON_TYPES.get(type(data), 'value')}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise _malformed("no 'choices' list")
    usage = data.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise _malformed("'usage' is not an object")
    prompt, completion = (_token_count(usage, k) for k in ("prompt_tokens", "completion_tokens")) \
        if usage else (None, None)
    if not choices:
        return Answer(None, None, prompt, completion)
    choice = choices[0]
    if not isinstance(choice, dict):
        raise _malformed("choices[0] is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _malformed("choices[0].message is missing or not an object")
    content, finish, refusal = message.get("content"), choice.get("finish_reason"), message.get("refusal")
    if content is not None and not isinstance(content, str):
        raise _malformed("choices[0].message.content is not a string")
    if finish is not None and not isinstance(finish, str):
        raise _malformed("choices[0].finish_reason is not a string")
    return Answer(content, finish, prompt, completion, refusal if isinstance(refusal, str) else None)


class _CappedBody(httpx2.AsyncByteStream):
    """A response body that fails once it passes `limit` bytes, counted after gunzip."""

    def __init__(self, raw: httpx2.AsyncByteStream, limit: int, gzipped: bool, status: int):
        self.raw, self.limit, self.gzipped, self.status = raw, limit, gzipped, status

    async def __aiter__(self) -> AsyncIterator[bytes]:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gzipped else None
        size = 0
        async for chunk in self.raw:
            if inflate is not None:
                try:
                    # max_length: a few KB of gzip cannot inflate to more than the limit in memory.
                    chunk = inflate.decompress(chunk, self.limit + 1 - size)
                except zlib.error as exc:
                    raise BodyRefused("malformed_response", f"malformed gzip body ({exc})") from None
            size += len(chunk)
            if size > self.limit:
                raise BodyRefused("response_too_large",
                                   f"HTTP {self.status} body is over max_response_bytes ({self.limit})")
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        await self.raw.aclose()


def body_cap(limit: int) -> Callable[[httpx2.Response], Awaitable[None]]:
    """An httpx response hook: it runs before any body is read, for every status and every redirect."""
    async def cap(response: httpx2.Response) -> None:
        listed = response.headers.get_list("content-encoding", split_commas=True)
        encodings = [e for e in (v.strip().lower() for v in listed) if e and e != "identity"]
        if encodings not in ([], ["gzip"]):
            raise BodyRefused("malformed_response", f"HTTP {response.status_code} body in content-encoding "
                                                     f"{', '.join(encodings)}, which was not asked for")
        declared = response.headers.get("content-length", "")
        if not encodings and declared.isdigit() and int(declared) > limit:
            raise BodyRefused("response_too_large", f"HTTP {response.status_code} body of {declared} bytes "
                                                     f"is over max_response_bytes ({limit})")
        # We inflate (bounded) ourselves, so httpx must not inflate again.
        response.headers.pop("content-encoding", None)
        response.stream = _CappedBody(response.stream, limit, bool(encodings), response.status_code)
    return cap
