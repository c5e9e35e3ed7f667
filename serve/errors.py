"""Error answers: one line saying what is wrong and where, never the input echoed back, never a traceback.

FastAPI's default 422 lists every failing item with its input (and the whole body for bad JSON): a body
of 100,000 wrong items would be answered with megabytes. Here `detail` is one line for the first
problem and a count of the rest; `errors` holds at most MAX_ERRORS locations and messages.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

MAX_ERRORS = 5
MAX_MESSAGE_CHARS = 200
_NOT_TEXT = re.compile("[\ud800-\udfff\U00040000-\U000dffff]")


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where in the request, e.g. [\"body\", \"queries\", 3]")
    msg: str


class Problem(BaseModel):
    detail: str = Field(description="one line: what is wrong and where")
    errors: list[ErrorItem] | None = Field(None, description=f"validation errors: the first {MAX_ERRORS}")


def where(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "queries", 3) -> "queries[3]"; ("body", 17) (bad JSON) -> "body at character 17"."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    if not parts:
        return "body"
    if isinstance(parts[0], int):
        return f"body at character {parts[0]}"
    return str(parts[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[1:])


def _message(error: dict[str, Any]) -> str:
    kind, ctx, msg = error.get("type"), error.get("ctx") or {}, str(error.get("msg", "invalid"))
    if kind == "json_invalid":
        msg = f"not valid JSON ({ctx.get('error', 'decode error')})"
    elif kind == "too_long":
        msg = f"has {ctx.get('actual_length')} items; the limit is {ctx.get('max_length')}"
    elif kind == "string_too_long":
        msg = f"has {len(error.get('input', ''))} characters; the limit is {ctx.get('max_length')}"
    elif kind == "string_unicode":
        msg = unicode_problem(str(error.get("input", ""))) or msg
    return " ".join(msg.split())[:MAX_MESSAGE_CHARS]


def unicode_problem(text: str) -> str | None:
    """Why `text` is not Unicode text the model can read, or None: a lone surrogate (only a JSON \\u
    escape makes one, and no UTF-8 can carry it), or a code point of planes 4-13, which Unicode leaves
    unassigned and which the model's tokenizer cannot spell (its grammar would admit no next token)."""
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    i, code = found.start(), ord(found.group())
    if code <= 0xDFFF:
        return (f"not valid Unicode: unpaired surrogate U+{code:04X} at character {i}; send UTF-8 "
                "text, or a character outside the BMP as a pair of \\u escapes")
    return f"not text: U+{code:X} at character {i} is in an unassigned Unicode plane (4-13)"


def validation_problem(errors: list[dict[str, Any]]) -> dict[str, Any]:
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    detail = f"{where(first['loc'])}: {_message(first)}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more problems)"
    items = [{"loc": [p if isinstance(p, int) else str(p) for p in e["loc"]], "msg": _message(e)}
             for e in errors[:MAX_ERRORS]]
    return {"detail": detail, "errors": items}


async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_problem(list(exc.errors())), status_code=422)


async def on_unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this answer, so the server log gets the traceback.
    return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the service log has the details"},
                        status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected_error)
