"""The optional paraphrase stage: an LLM rewrites a seeded share of the finished records.

Why: templates, however many, repeat their own connective phrasing, and a model learns it. A rewrite by
an LLM adds phrasings no template holds, while the labels stay trustworthy: the rewrite must contain
every entity value verbatim, and `synth.verify.Verifier` grounds the rewritten query against the record's
own labels exactly as it grounds a backend's first realisation (word boundaries, one occurrence, no
overlaps, the intent's rules). A rewrite that fails any check, repeats the original, duplicates another
query or runs far longer is dropped and counted by reason; the record keeps its original query, so the
dataset's size and balance never depend on the endpoint's quality. A record that rules a value out
("not a horror movie") is never sent: a rewrite that kept the words but dropped the "not" would pass
every check with a wrong label (counted under `not_sent`).

Recipe block (`paraphrase:` in recipes/data/*.yml; absent or share 0 = off):
  share       fraction of each listed split's records sent for a rewrite, chosen by a seeded hash of
              the record id (so the same records are chosen on every rerun)
  splits      which splits to rewrite (default all four; the held-out split stays held out: its
              templates, titles and people are still unseen in train, only the wording is new)
  max_growth  a rewrite may be at most this many times the original's length, plus 40 characters
  openai      any OpenAI-compatible endpoint, the keys of apiclient.ClientConfig (base_url,
              model, api_key_env, response_format, concurrency, rpm, ...); answers are cached in
              paraphrase_cache.sqlite beside the dataset, so a rerun or a resume costs no requests
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from apiclient import (
    ChatRequest,
    ChatResult,
    ClientConfig,
    EndpointDown,
    ResponseCache,
    public_config,
    resolve_api_key,
    response_format_for,
    run_all,
    summarize,
)
from schemas.config import ConfigError, unknown_keys
from schemas.taxonomy import Taxonomy
from synth.types import BackendDown, Frame, Realized, Slot
from synth.verify import Verifier

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
CACHE_FILE = "paraphrase_cache.sqlite"
KEYS = ("share", "splits", "max_growth", "openai")
SPLITS = ("train", "validation", "test", "heldout")
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"query": {"type": "string"}},
    "required": ["query"], "additionalProperties": False,
}


@dataclass
class ParaphraseConfig:
    share: float = 0.0
    splits: tuple[str, ...] = SPLITS
    max_growth: float = 2.5
    client: ClientConfig | None = None

    @property
    def on(self) -> bool:
        return self.share > 0

    @classmethod
    def from_resolved(cls, d: Mapping[str, Any]) -> ParaphraseConfig:
        """Back from DataConfig.paraphrase (the manifest form), already checked at load."""
        client = ClientConfig(**d["openai"]) if d.get("openai") else None
        return cls(d.get("share", 0.0), tuple(d.get("splits", SPLITS)), d.get("max_growth", 2.5), client)

    def resolved(self) -> dict[str, Any]:
        """For the manifest: no API key, every default filled in."""
        return {"share": self.share, "splits": list(self.splits), "max_growth": self.max_growth,
                "openai": public_config(self.client) if self.client else None}


def load_paraphrase_config(raw: Any, where: str) -> ParaphraseConfig:
    """Check the recipe's `paraphrase:` block; every problem reported at once, one line each."""
    if raw is None:
        return ParaphraseConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError([f"{where}: must be a mapping, got {raw!r}"])
    problems = unknown_keys(raw, KEYS, where)
    share = raw.get("share", 0.0)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        problems.append(f"{where}.share: must be a number in [0, 1], got {share!r}")
    splits = raw.get("splits", list(SPLITS))
    if not isinstance(splits, list) or not splits or any(s not in SPLITS for s in splits):
        problems.append(f"{where}.splits: must be a non-empty list drawn from {', '.join(SPLITS)}, "
                        f"got {splits!r}")
    growth = raw.get("max_growth", 2.5)
    if isinstance(growth, bool) or not isinstance(growth, int | float) or growth < 1:
        problems.append(f"{where}.max_growth: must be a number >= 1, got {growth!r}")
    client_raw = raw.get("openai")
    client = None
    on = not problems and share > 0
    if on and not isinstance(client_raw, Mapping):
        problems.append(f"{where}.openai: share > 0 needs an endpoint (base_url, model, ...), "
                        f"got {client_raw!r}")
    elif isinstance(client_raw, Mapping):
        try:
            client = ClientConfig.from_mapping(client_raw, f"{where}.openai")
            if on:
                resolve_api_key(client)  # a missing key fails here, before any record is generated
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return ParaphraseConfig(float(share), tuple(splits), float(growth), client)


def chosen(record_id: str, seed: int, share: float) -> bool:
    """A seeded coin per record id: independent of record order and of every other stage's randomness."""
    h = int(hashlib.sha1(f"paraphrase:{seed}:{record_id}".encode()).hexdigest()[:12], 16)
    return h / 16 ** 12 < share


class Paraphraser:
    def __init__(self, cfg: ParaphraseConfig, tax: Taxonomy, seed: int, cache_dir: Path | None,
                 progress: bool = True):
        assert cfg.client is not None, "load_paraphrase_config guarantees an endpoint when share > 0"
        self.cfg, self.tax, self.seed, self.progress = cfg, tax, seed, progress
        self.cache_path = cache_dir / CACHE_FILE if cache_dir else None
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPTS_DIR),
                                 undefined=jinja2.StrictUndefined, autoescape=False)
        self._system = env.get_template("paraphrase_system.jinja").render().strip()
        self._user = env.get_template("paraphrase_user.jinja")
        self._format = response_format_for(cfg.client.response_format, ANSWER_SCHEMA, "paraphrase")
        self.verifier = Verifier(tax, backend="paraphrase")
        self.rejections: Counter[str] = Counter()
        self.results: list[ChatResult] = []
        self.rewritten = 0
        self.not_sent: Counter[str] = Counter()  # chosen but never asked, by reason

    def request(self, record: Mapping[str, Any]) -> ChatRequest:
        values = [e["value"] for e in record["entities"]]
        user = self._user.render(query=record["query"], values=values).strip()
        return ChatRequest([{"role": "system", "content": self._system}, {"role": "user", "content": user}],
                           response_format=self._format, seed=self.seed)

    def rewrite(self, record: Mapping[str, Any], result: ChatResult, taken: set[str]
                ) -> dict[str, Any] | str:
        """The rewritten record, or the reason it was refused."""
        if not result.ok:  # a malformed, empty or oversized body under its own reason, else http_error
            return result.rejection
        answer, reason = result.json_answer()
        if reason:
            return reason
        if not isinstance(answer, dict) or not isinstance(answer.get("query"), str):
            return "schema_violation"
        query = " ".join(answer["query"].split())
        if not query:
            return "empty_query"
        if query.lower() == record["query"].lower():
            return "unchanged"
        if len(query) > self.cfg.max_growth * len(record["query"]) + 40:
            return "too_long"
        if query.lower() in taken:
            return "duplicate"
        # Labels come from the record, never from the rewrite: each value must be found again.
        frame = Frame(record["id"], record["intent"], record["meta"].get("template_id", ""),
                      tuple(Slot(f"{e['type']}{i}", e["type"], e["value"], bool(e.get("exclude")))
                            for i, e in enumerate(record["entities"])),
                      record["split"], record["meta"].get("seed_title"))
        reason, out = self.verifier.check(Realized(frame, query, []))
        if reason:
            return reason
        out["meta"] = {**record["meta"], "paraphrased": True, "original_query": record["query"]}
        return out

    def run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records in the same order, a chosen share rewritten; the rest (and every refusal) unchanged."""
        picks = [i for i, r in enumerate(records)
                 if r["split"] in self.cfg.splits and chosen(r["id"], self.seed, self.cfg.share)]
        excluding = {i for i in picks if any(e.get("exclude") for e in records[i]["entities"])}
        self.not_sent["has_exclusion"] += len(excluding)
        picks = [i for i in picks if i not in excluding]
        if not picks:
            return records
        cache = ResponseCache(self.cache_path) if self.cache_path else None
        try:
            requests = [self.request(records[i]) for i in picks]
            results = run_all(requests, self.cfg.client, cache, self.progress)
        except EndpointDown as exc:
            raise BackendDown(f"paraphrase: {exc}") from None
        finally:
            if cache is not None:
                cache.close()
        self.results += results
        out = list(records)
        taken = {r["query"].lower() for r in records}
        for i, result in zip(picks, results, strict=True):
            got = self.rewrite(records[i], result, taken)
            if isinstance(got, str):
                self.rejections[got] += 1
                continue
            taken.add(got["query"].lower())
            out[i] = got
            self.rewritten += 1
        failed = sum(not r.ok for r in results)
        if failed:
            log.warning("paraphrase: %d of %d requests to %s failed; those records keep their query",
                        failed, len(results), self.cfg.client.base_url)
        return out

    def summary(self) -> dict[str, Any]:
        asked = self.rewritten + sum(self.rejections.values())
        return {**self.cfg.resolved(), "asked": asked, "rewritten": self.rewritten,
                "rewrite_rate": round(self.rewritten / max(asked, 1), 4),
                "rejections": dict(sorted(self.rejections.items())),
                "not_sent": dict(sorted(self.not_sent.items())),
                "usage": summarize(self.results, self.cfg.client) if self.results else {}}
