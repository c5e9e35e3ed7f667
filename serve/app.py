"""The HTTP service: POST /v1/parse, POST /v1/search, GET /healthz, the demo page at /, docs at /docs.

`create_app(parse_many, cfg, info, search_one)` takes any function from a list of queries and a deadline
(time.monotonic()) to parsed results (decoding.parser.Parser.parse_many in production) and, for
/v1/search, one from an extraction and its query to ranked KG titles (search.search), so the app is the
same whatever loads the model or the KG.

Every /v1/ request passes serve.guard first (API key, body size and time), then check_request (queries,
their length in characters and words, valid Unicode); errors are one line (serve.errors).
"""

# No `from __future__ import annotations`: the request models are built per config inside create_app,
# and FastAPI resolves string annotations in the module's globals only.
import asyncio
import ctypes
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from decoding.engine import DeadlineExceeded
from serve import errors
from serve.batcher import Batcher, BatchFailed, QueryFailed, QueueFull, WorkerCrashed, WorkerStuck
from serve.config import ServeConfig
from serve.guard import RequestGuard

PAGE = Path(__file__).with_name("static") / "index.html"


class Entity(BaseModel):
    type: str
    value: str
    start: int = Field(description="offset of the value in the query in Unicode code points (a Python str "
                                   "index): query[start:end] == value in Python")
    end: int
    start_utf16: int = Field(description="the same offset in UTF-16 code units, as JavaScript, Java and C# "
                                         "index strings: query.slice(start_utf16, end_utf16) === value in "
                                         "JavaScript (differs from `start` after an emoji or other "
                                         "character outside the Basic Multilingual Plane)")
    end_utf16: int
    exclude: bool = Field(False, description="the user rules this value out (\"not a horror movie\")")
    canonical: str | None = Field(None, description="the lexicon's value for a closed type, for search")


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


class SearchOne(ParseOne):
    search: dict[str, Any] = Field(description="search.search(): route, results (rank, title, year, "
                                               "media_type, score, matched constraints, linked), unused")
    search_ms: float


def request_models(cfg: ServeConfig) -> tuple[type[BaseModel], type[BaseModel]]:
    """ParseRequest and SearchRequest with this config's limits, so the OpenAPI schema states them and
    pydantic stops at a list's length instead of validating (and reporting) every item of a huge one."""
    query_type = Annotated[str, StringConstraints(strict=True, max_length=cfg.max_query_chars)]
    words = f"at most {cfg.max_query_words} words"

    class ParseRequest(BaseModel):
        """Exactly one of `query` or `queries`."""
        model_config = ConfigDict(extra="forbid")
        query: query_type | None = Field(None, description=words, examples=["who directed Parasite"])
        queries: Annotated[list[query_type], Field(max_length=cfg.max_queries)] | None = Field(
            None, description=f"each {words}", examples=[["play Inception", "funny 90s comedies"]])

    class SearchRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        query: query_type = Field(description=words,
                                  examples=["a tense sci-fi movie from the 80s with Sigourney Weaver"])

    return ParseRequest, SearchRequest


def error_responses(cfg: ServeConfig) -> dict[int | str, dict[str, Any]]:
    """The error answers of the /v1/ routes, all a Problem (one-line `detail`), for the OpenAPI schema."""
    said = {
        400: "body not UTF-8 or a bad Content-Length",
        401: "SERVE_API_KEY is set and the request has no `Authorization: Bearer <key>` or a wrong one",
        408: f"body not received within {cfg.body_timeout_s} s",
        413: f"body over {cfg.max_body_bytes} bytes",
        422: f"bad request: not exactly one of query/queries, over {cfg.max_queries} queries, a query empty, "
             f"over {cfg.max_query_chars} characters or {cfg.max_query_words} words, or not valid Unicode",
        500: "a server fault while decoding this request's queries (other requests are unaffected)",
        503: "queue full or the decode worker unavailable; see Retry-After",
        504: f"no answer within {cfg.request_timeout_s} s",
    }
    return {code: {"model": errors.Problem, "description": text} for code, text in said.items()}


def check_request(req: Any, cfg: ServeConfig) -> list[str]:
    """The queries to parse, or HTTP 422 with a message saying what is wrong and where (the request
    model has already bounded the number of queries and their characters)."""
    if (req.query is None) == (req.queries is None):
        raise HTTPException(422, "send exactly one of 'query' (a string) or 'queries' (a list of strings)")
    queries = [req.query] if req.query is not None else list(req.queries or [])
    if not queries:
        raise HTTPException(422, f"'queries' is empty; send 1 to {cfg.max_queries} queries")
    for i, q in enumerate(queries):
        where = "query" if req.query is not None else f"queries[{i}]"
        if problem := query_problem(q, cfg):
            raise HTTPException(422, f"{where} {problem}")
    return queries


def query_problem(query: str, cfg: ServeConfig) -> str | None:
    """What is wrong with one query, or None. Words bound the cost: the grounded grammar grows with them."""
    if not query.strip():
        return "is empty"
    if problem := errors.unicode_problem(query):  # pydantic refuses these first; this keeps it so
        return f"is {problem}"
    words = len(query.split())
    if words > cfg.max_query_words:
        return f"has {words} words; the limit is {cfg.max_query_words}"
    return None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def with_offsets(query: str, parsed: dict[str, Any]) -> dict[str, Any]:
    """A parse result for the response: the query, and UTF-16 offsets beside the code-point ones."""
    entities = []
    for e in parsed.get("entities", []):
        start16 = utf16_len(query[:e["start"]])
        end16 = start16 + utf16_len(query[e["start"]:e["end"]])
        entities.append({**e, "start_utf16": start16, "end_utf16": end16})
    return {"query": query, **parsed, "entities": entities}


def _malloc_trim() -> Callable[[], None]:
    """glibc keeps memory freed by a decode (every batch has other tensor shapes) in its arenas, so a
    long-running service's resident size creeps up; malloc_trim hands it back. A no-op elsewhere."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0) and None


release_freed_memory = _malloc_trim()


def create_app(parse_many: Callable[..., list[dict[str, Any]]], cfg: ServeConfig,
               info: dict[str, Any] | None = None,
               search_one: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
               api_key: str | None = None, health: Callable[[], dict[str, Any]] | None = None) -> FastAPI:
    """`parse_many(queries, deadline=...)`; `api_key`: every /v1/ request must send it as a bearer token;
    `health`: more fields for /healthz (e.g. the grammar cache size)."""
    def decode_batch(queries: list[str], deadline: float) -> list[dict[str, Any]]:
        try:
            return parse_many(queries, deadline=deadline)
        finally:
            release_freed_memory()

    batcher = Batcher(decode_batch, cfg.max_batch, cfg.max_wait_ms, cfg.queue_limit, cfg.request_timeout_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="media-intent parser", lifespan=lifespan,
                  description="Conversational media-search queries to intent + typed entity spans, "
                              "decoded under a per-query grounded grammar (values are spans of the query).")
    errors.install(app)
    app.add_middleware(RequestGuard, api_key=api_key, max_body_bytes=cfg.max_body_bytes,
                       body_timeout_s=cfg.body_timeout_s)
    if api_key is not None:
        _document_bearer(app)
    responses = error_responses(cfg)
    ParseRequest, SearchRequest = request_models(cfg)  # noqa: N806 - classes

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html")

    @app.get("/healthz", responses={503: {"description": "the decode worker is stuck or not running"}})
    async def healthz() -> JSONResponse:
        """Liveness: the decode worker's state, its restarts, the queries queued or decoding, the model."""
        state = batcher.worker_state()
        s = batcher.stats
        body = {"status": "ok" if state == "alive" else "unavailable", "worker": state,
                "restarts": batcher.restarts, "queue_depth": batcher.in_flight, **(info or {}),
                "batches": s.batches, "queries": s.queries, "largest_batch": s.largest_batch,
                "recent_batch_sizes": s.sizes, "deadline_stops": s.deadline_stops,
                "failed_queries": s.failed_queries, **(health() if health else {})}
        if state == "alive":
            return JSONResponse(body)
        return JSONResponse(body, 503, headers={"Retry-After": str(batcher.retry_after())})

    async def decode(queries: list[str], single: bool) -> list[dict[str, Any]]:
        try:
            return await batcher.submit(queries)
        except (QueueFull, WorkerStuck) as exc:
            raise HTTPException(503, f"busy: {exc}; retry later",
                                headers={"Retry-After": str(batcher.retry_after())}) from None
        except DeadlineExceeded:
            raise HTTPException(504, f"no answer within {cfg.request_timeout_s} s; "
                                     "retry later or with fewer queries") from None
        except BatchFailed as failed:
            raise _failure(failed, single) from None

    def _failure(failed: BatchFailed, single: bool) -> HTTPException:
        where = "query" if single else f"queries[{failed.index}]"
        if isinstance(failed.cause, DeadlineExceeded):
            return HTTPException(504, f"{where}: no answer within {cfg.request_timeout_s} s; retry later")
        if isinstance(failed.cause, WorkerCrashed):
            return HTTPException(503, f"{where}: {failed.cause}; it was restarted, retry",
                                 headers={"Retry-After": "1"})
        cause = failed.cause if isinstance(failed.cause, QueryFailed) else type(failed.cause).__name__
        return HTTPException(500, f"{where}: could not be decoded ({cause}); the service log has the details")

    @app.post("/v1/parse", response_model=ParseOne | ParseMany, responses=responses)
    async def parse(req: ParseRequest) -> dict[str, Any]:
        queries = check_request(req, cfg)
        t0 = time.perf_counter()
        results = await decode(queries, req.query is not None)
        latency = round((time.perf_counter() - t0) * 1000, 1)
        parsed = [with_offsets(q, r) for q, r in zip(queries, results, strict=True)]
        if req.query is not None:
            return {**parsed[0], "latency_ms": latency}
        return {"results": parsed, "latency_ms": latency}

    @app.post("/v1/search", response_model=SearchOne, responses={
        **responses, 404: {"model": errors.Problem, "description": "no search backend"}})
    async def search(req: SearchRequest) -> dict[str, Any]:
        """Parse the query, then rank KG titles by the extraction (sql/search); each result says which
        constraints it matched. An unparseable answer (status not ok) searches nothing."""
        if search_one is None:
            raise HTTPException(404, "this service was started without a search backend")
        parsed = await parse(ParseRequest(query=req.query))
        t0 = time.perf_counter()
        extraction = {"intent": parsed["intent"],
                      "entities": [{k: e.get(k) for k in ("type", "value", "exclude", "canonical")}
                                   for e in parsed["entities"]]}
        found = (await asyncio.to_thread(search_one, extraction, req.query) if parsed["status"] == "ok"
                 else {"intent": None, "route": None, "results": [], "unused": []})
        return {**parsed, "search": found, "search_ms": round((time.perf_counter() - t0) * 1000, 1)}

    return app


def _document_bearer(app: FastAPI) -> None:
    """Declare the bearer token in the OpenAPI schema (serve.guard enforces it) so /docs and generated
    clients send it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            spec.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "SERVE_API_KEY"}}
            for path, ops in spec["paths"].items():
                if path.startswith("/v1/"):
                    for op in ops.values():
                        op["security"] = [{"bearer": []}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@contextmanager
def serving(parse_many: Callable[..., list[dict[str, Any]]], cfg: ServeConfig) -> Iterator[str]:
    """The service on cfg.host:cfg.port in a background thread for the `with` block; yields its base URL.
    For benchmarks, tests and notebooks; `python -m serve` is the way to run it for real."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(parse_many, cfg), host=cfg.host, port=cfg.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://{cfg.host}:{cfg.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
