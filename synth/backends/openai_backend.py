"""The `openai` backend: an LLM behind any OpenAI-compatible endpoint writes one query per frame.

`prompt(frame, index) -> messages` renders synth/prompts/openai_system.jinja and openai_user.jinja;
`parse(frame, result) -> Realized` checks the JSON answer against `realization_schema` (declared once,
from the taxonomy). Bad answers become Realized with `error` set and are counted by reason in
`rejections` (a body that is malformed, empty or too large under its own reason, every failure to get
one as http_error); `synth.verify` then grounds the spans of the good ones.

Config keys (YAML mapping; unknown keys are errors):
  base_url             endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1; plain http
                       only to this machine (localhost, loopback) unless allow_insecure_http is set
  allow_insecure_http  true: allow http:// to a non-local host, sending the key in clear text (default false)
  model                model name sent with every request
  api_key_env          NAME of the env var holding the key (default OPENAI_API_KEY); null only for a
                       local server (a dummy key is sent). The key itself is never logged or stored.
  response_format      json_schema (OpenAI strict structured outputs) | json_object_schema (llama.cpp
                       server) | none (prompt-only JSON)
  temperature          sampling temperature (default 0.7)
  max_tokens           completion budget per query (default 256)
  concurrency          requests in flight at once (default 8)
  rpm, tpm             requests / tokens per minute; null = unlimited
  max_retries          retries on 429, 5xx, timeouts, connection errors, malformed bodies (default 5)
  timeout_s            per-read timeout: the longest silence allowed within one request (default 60)
  request_deadline_s   total time for one attempt, body included, then it counts as a timeout (default
                       null = 2 x timeout_s): a server sending a byte at a time cannot hold a request
  max_response_bytes   largest response body read, after gunzip (default 1000000); a larger one fails
                       the request as response_too_large, without retry
  backoff_base_s       first retry waits up to this, doubling with full jitter (default 1)
  backoff_max_s        cap on one wait (default 60), a server's Retry-After included
  price_per_1m_input   USD per 1M prompt tokens, for the cost summary (default 0)
  price_per_1m_output  USD per 1M completion tokens (default 0)
  few_shot             labelled example queries shown per prompt, rotated by frame index (default 3)
  max_string_chars     maxLength on every string of the answer schema (default null). Small local models
                       under a grammar can loop inside one string until max_tokens runs out; this bounds
                       them. Meant for json_object_schema: strict json_schema endpoints may reject it.
  cache_dir            folder of openai_cache.sqlite; null = the dataset output folder (carried over
                       when the folder is rewritten)
  max_consecutive_failures, max_error_share, error_share_min_requests
                       the circuit breaker (defaults 10, 0.5, 20): that many connection failures or
                       timeouts in a row, or a larger share of failed requests, stops the run with
                       EndpointDown; the previous dataset and the cache are kept
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import jsonschema

from apiclient import (
    CACHE_FILE,
    ChatRequest,
    ChatResult,
    ClientConfig,
    EndpointDown,
    ResponseCache,
    arun_all,
    public_config,
    resolve_api_key,
    response_format_for,
    run_all,
    summarize,
)
from schemas.config import ConfigError, unknown_keys
from schemas.taxonomy import Taxonomy
from synth.types import BackendDown, Frame, Realized

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
BACKEND_KEYS = ("few_shot", "max_string_chars")


def realization_schema(tax: Taxonomy, max_string_chars: int | None = None) -> dict[str, Any]:
    """What the LLM returns: the query and the values it used. Without bounds it is valid for OpenAI
    strict mode (every key required, no additional properties, no unsupported keywords)."""
    string: dict[str, Any] = {"type": "string"}
    if max_string_chars:
        string["maxLength"] = max_string_chars
    entity = {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": tax.entity_names}, "value": string},
        "required": ["type", "value"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"query": string, "entities": {"type": "array", "items": entity}},
        "required": ["query", "entities"],
        "additionalProperties": False,
    }


def rotate(pool: Sequence[Any], k: int, index: int) -> list[Any]:
    """k items for frame `index`, consecutive windows so every item is used before any repeats."""
    if not pool or k <= 0:
        return []
    k = min(k, len(pool))
    return [pool[(index * k + j) % len(pool)] for j in range(k)]


def check_config(data: Mapping[str, Any], where: str = "openai") -> tuple[ClientConfig, dict[str, Any]]:
    """The client's config and this backend's own keys, every problem reported at once."""
    client_keys = list(ClientConfig.__dataclass_fields__)
    problems = unknown_keys(data, client_keys + list(BACKEND_KEYS), where)
    own = {"few_shot": data.get("few_shot", 3), "max_string_chars": data.get("max_string_chars")}
    few_shot, max_chars = own["few_shot"], own["max_string_chars"]
    if isinstance(few_shot, bool) or not isinstance(few_shot, int) or few_shot < 0:
        problems.append(f"{where}.few_shot: expected an integer >= 0, got {few_shot!r}")
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int)
                                  or max_chars < 1):
        problems.append(f"{where}.max_string_chars: expected an integer >= 1 or null, got {max_chars!r}")
    try:
        cfg = ClientConfig.from_mapping({k: v for k, v in data.items() if k in client_keys}, where)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    resolve_api_key(cfg)  # fail before any work when the key's env var is missing
    return cfg, own


class OpenAIBackend:
    name = "openai"

    def __init__(self, config: Mapping[str, Any], taxonomy: Taxonomy, *, where: str = "openai",
                 out_dir: str | Path | None = None, seed: int | None = None, progress: bool = True):
        """`config` is the recipe's `openai:` mapping; `where` names it in errors (e.g. "recipe.yml: openai");
        answers are cached in `cache_dir`, else in `out_dir`."""
        self.cfg, own = check_config(config, where)
        self.few_shot, self.max_string_chars = own["few_shot"], own["max_string_chars"]
        self.taxonomy, self.seed, self.progress = taxonomy, seed, progress
        folder = self.cfg.cache_dir or out_dir
        self.cache_path = Path(folder) / CACHE_FILE if folder else None
        self.schema = realization_schema(taxonomy, self.max_string_chars)
        self.response_format = response_format_for(self.cfg.response_format, self.schema, "realization")
        self._validator = jsonschema.Draft202012Validator(self.schema)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPTS_DIR),
                                 undefined=jinja2.StrictUndefined, autoescape=False)
        self._user = env.get_template("openai_user.jinja")
        self._system = env.get_template("openai_system.jinja").render(
            entity_types=list(taxonomy.entity_types.values())).strip()
        self._shots = [{"intent": i.name, "query": q} for i in taxonomy.intents.values() for q in i.examples]
        # Accumulated over every realize() call, for the manifest.
        self.rejections: Counter[str] = Counter()
        self.results: list[ChatResult] = []

    # --- prompt(frame) -> messages, parse(response) -> Realized ---------------------------------------

    def prompt(self, frame: Frame, index: int) -> list[dict[str, str]]:
        """`index` is the frame's position in the realize() call: it picks the few-shot window."""
        intent = self.taxonomy.intents[frame.intent]
        user = self._user.render(intent=intent, slots=frame.slots,
                                 few_shot=rotate(self._shots, self.few_shot, index)).strip()
        return [{"role": "system", "content": self._system}, {"role": "user", "content": user}]

    def request(self, frame: Frame, index: int) -> ChatRequest:
        return ChatRequest(self.prompt(frame, index), response_format=self.response_format, seed=self.seed)

    def parse(self, frame: Frame, result: ChatResult) -> Realized:
        usage = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                 "latency_s": round(result.latency_s, 3), "attempts": result.attempts,
                 "cached": result.cached, "finish_reason": result.finish_reason}
        if not result.ok:
            return Realized(frame, None, error=result.rejection,
                            usage={**usage, "error_detail": result.error})
        answer, reason = result.json_answer()
        if reason:
            return Realized(frame, None, error=reason, usage=usage)
        if not self._validator.is_valid(answer):
            return Realized(frame, None, error="schema_violation", usage=usage)
        query = answer["query"].strip()
        if not query:
            return Realized(frame, None, error="empty_query", usage=usage)
        entities = [{"type": e["type"], "value": e["value"]} for e in answer["entities"]]
        return Realized(frame, query, entities, usage=usage)

    # --- Backend protocol --------------------------------------------------------------------------------

    def _finish(self, frames: Sequence[Frame], results: list[ChatResult]) -> list[Realized]:
        self.results += results
        out = [self.parse(f, r) for f, r in zip(frames, results, strict=True)]
        self.rejections.update(r.error for r in out if r.error)
        failed = [r for r in results if not r.ok]
        if failed:  # one summary line, never one per frame
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(Counter(r.error_kind for r in failed).items()))
            log.warning("openai backend: %d of %d requests to %s failed (%s); first: %s", len(failed),
                        len(results), self.cfg.base_url, kinds, failed[0].error)
        return out

    def _cache(self) -> ResponseCache | None:
        if self.cache_path is None:
            log.warning("openai backend: no cache_dir and no output folder given, answers are not cached")
            return None
        return ResponseCache(self.cache_path)

    async def arealize(self, frames: Iterable[Frame]) -> list[Realized]:
        frames = list(frames)
        cache = self._cache()
        try:
            reqs = [self.request(f, i) for i, f in enumerate(frames)]
            return self._finish(frames, await arun_all(reqs, self.cfg, cache, self.progress))
        except EndpointDown as exc:
            raise BackendDown(str(exc)) from None
        finally:
            if cache is not None:
                cache.close()

    def realize(self, frames: Iterable[Frame]) -> Iterator[Realized]:
        frames = list(frames)
        cache = self._cache()
        try:
            reqs = [self.request(f, i) for i, f in enumerate(frames)]
            results = run_all(reqs, self.cfg, cache, self.progress)
        except EndpointDown as exc:
            raise BackendDown(str(exc)) from None
        finally:
            if cache is not None:
                cache.close()
        yield from self._finish(frames, results)

    def usage_summary(self) -> dict[str, Any]:
        """For the manifest: resolved config (no key), usage and cost, rejections by reason."""
        return {"backend": self.name, "config": {**public_config(self.cfg), "few_shot": self.few_shot,
                                                        "max_string_chars": self.max_string_chars},
                "usage": summarize(self.results, self.cfg), "rejections": dict(self.rejections)}
