"""The HTTP service: POST /v1/parse, POST /v1/search, GET /healthz, the demo page at /, docs at /docs.

`create_app(parse_many, cfg, info, search_one)` takes any function from a list of queries to parsed
results (decoding.parser.Parser.parse_many in production) and, for /v1/search, one from an extraction and
its query to ranked KG titles (search.search), so the app is the same whatever loads the model or the KG.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from serve.batcher import Batcher, QueueFull
from serve.config import ServeConfig

PAGE = Path(__file__).with_name("static") / "index.html"


class ParseRequest(BaseModel):
    """Exactly one of `query` or `queries`."""
    model_config = ConfigDict(extra="forbid")
    query: StrictStr | None = Field(None, examples=["who directed Parasite"])
    queries: list[StrictStr] | None = Field(None, examples=[["play Inception", "funny 90s comedies"]])


class Entity(BaseModel):
    type: str
    value: str
    start: int = Field(description="offset of the value in the query as sent (Python str index)")
    end: int


class Parsed(BaseModel):
    query: str
    intent: str | None
    entities: list[Entity]
    status: str = Field(description="ok, or why the output could not be used (e.g. truncated)")


class ParseOne(Parsed):
    latency_ms: float


class ParseMany(BaseModel):
    results: list[Parsed]
    latency_ms: float


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: StrictStr = Field(examples=["a tense sci-fi movie from the 80s with Sigourney Weaver"])


class SearchOne(ParseOne):
    search: dict[str, Any] = Field(description="search.search(): route, results (rank, title, year, "
                                               "media_type, score, matched constraints, linked), unused")
    search_ms: float


def check_request(req: ParseRequest, cfg: ServeConfig) -> list[str]:
    """The queries to parse, or HTTP 422 with a message saying what is wrong."""
    if (req.query is None) == (req.queries is None):
        raise HTTPException(422, "send exactly one of 'query' (a string) or 'queries' (a list of strings)")
    queries = [req.query] if req.query is not None else list(req.queries or [])
    if not queries:
        raise HTTPException(422, f"'queries' is empty; send 1 to {cfg.max_queries} queries")
    if len(queries) > cfg.max_queries:
        raise HTTPException(422, f"{len(queries)} queries in one request; the limit is {cfg.max_queries}")
    for i, q in enumerate(queries):
        where = "query" if req.query is not None else f"queries[{i}]"
        if not q.strip():
            raise HTTPException(422, f"{where} is empty")
        if len(q) > cfg.max_query_chars:
            raise HTTPException(422, f"{where} has {len(q)} characters; the limit is {cfg.max_query_chars}")
    return queries


def create_app(parse_many: Callable[[list[str]], list[dict[str, Any]]], cfg: ServeConfig,
               info: dict[str, Any] | None = None,
               search_one: Callable[[dict[str, Any], str], dict[str, Any]] | None = None) -> FastAPI:
    batcher = Batcher(parse_many, cfg.max_batch, cfg.max_wait_ms, cfg.queue_limit)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="media-intent parser", lifespan=lifespan,
                  description="Conversational media-search queries to intent + typed entity spans, "
                              "decoded under a per-query grounded grammar (values are spans of the query).")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        s = batcher.stats
        return {"status": "ok", **(info or {}), "in_flight": batcher.in_flight, "batches": s.batches,
                "queries": s.queries, "largest_batch": s.largest_batch, "recent_batch_sizes": s.sizes}

    @app.post("/v1/parse", response_model=ParseOne | ParseMany,
              responses={422: {"description": "bad request"}, 503: {"description": "queue full"}})
    async def parse(req: ParseRequest) -> dict[str, Any]:
        queries = check_request(req, cfg)
        t0 = time.perf_counter()
        try:
            results = await batcher.submit(queries)
        except QueueFull as exc:
            raise HTTPException(503, f"busy: {exc}; retry later") from None
        latency = round((time.perf_counter() - t0) * 1000, 1)
        parsed = [{"query": q, **r} for q, r in zip(queries, results, strict=True)]
        if req.query is not None:
            return {**parsed[0], "latency_ms": latency}
        return {"results": parsed, "latency_ms": latency}

    @app.post("/v1/search", response_model=SearchOne,
              responses={404: {"description": "no search backend"}, 422: {"description": "bad request"},
                         503: {"description": "queue full"}})
    async def search(req: SearchRequest) -> dict[str, Any]:
        """Parse the query, then rank KG titles by the extraction (search/sql); each result says which
        constraints it matched. An unparseable answer (status not ok) searches nothing."""
        if search_one is None:
            raise HTTPException(404, "this service was started without a search backend")
        parsed = await parse(ParseRequest(query=req.query))
        t0 = time.perf_counter()
        extraction = {"intent": parsed["intent"],
                      "entities": [{"type": e["type"], "value": e["value"]} for e in parsed["entities"]]}
        found = (await asyncio.to_thread(search_one, extraction, req.query) if parsed["status"] == "ok"
                 else {"intent": None, "route": None, "results": [], "unused": []})
        return {**parsed, "search": found, "search_ms": round((time.perf_counter() - t0) * 1000, 1)}

    return app
