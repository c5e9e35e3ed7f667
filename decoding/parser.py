"""The one prediction path: a loaded model that turns queries into intent + grounded entity spans.

    parser = Parser.from_run("runs/x")              # base model + adapter + trained prompt from the run card
    parser.parse("who directed Parasite")
    # {"intent": "title_info", "entities": [{"type": "title", "value": "Parasite", "start": 13, "end": 21}],
    #  "status": "ok"}

eval.predict (make eval, robustness, external corpora) calls `generate` and scores the raw outputs;
the service (serve/) calls `parse_many`. Both go through the same prompt, grammars and engine.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decoding.engine import DEFAULT_GRAMMAR_CACHE_BYTES, check_deadline, check_engine, generate
from decoding.grounded import MODES, grammars_for_mode
from decoding.polarity import check_polarity, resolve
from schemas import ConfigError, Taxonomy, extraction_schema, load_taxonomy

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


@dataclass(frozen=True)
class DecodeSettings:
    """eval/config.yml's `decode` section (eval.config.DecodeConfig has the same fields)."""
    engine: str = "fast"
    mode: str = "grounded"
    batch_size: int = 32
    max_new_tokens: int = 128
    max_value_chars: int | None = 80
    max_entities: int | None = 8
    dtype: str = "float32"
    threads: int | None = None
    jump_forward: bool = True  # fast engine only; off = the model picks every token (for benchmarks)
    polarity: str = "cues"     # who decides "exclude": model | cues | either (decoding/polarity.py)

    @classmethod
    def of(cls, cfg: Any) -> DecodeSettings:
        """From any object with (a subset of) these attributes, e.g. eval.config.DecodeConfig."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in vars(cfg).items() if k in names})


@dataclass
class Parser:
    model_dir: Path
    adapter_dir: Path | None
    system_prompt: str | None
    tax: Taxonomy = field(default_factory=load_taxonomy)
    settings: DecodeSettings = field(default_factory=DecodeSettings)
    last_stats: dict[str, Any] = field(default_factory=dict)
    grammar_cache_bytes: int = DEFAULT_GRAMMAR_CACHE_BYTES  # 0 = no cache of compiled grammars

    def __post_init__(self) -> None:
        from decoding.hf import grammar_compiler, load_model

        check_engine(self.settings.engine)
        check_polarity(self.settings.polarity, self.tax)
        if self.settings.mode not in MODES:
            raise ValueError(f"unknown decoding mode {self.settings.mode!r}; "
                             f"expected one of {', '.join(MODES)}")
        if self.settings.engine == "vllm":
            self._load_vllm()
        else:
            self.model, self.tokenizer = load_model(self.model_dir, self.adapter_dir, self.settings.dtype,
                                                    self.settings.threads)
            self.compiler = grammar_compiler(self.model, self.tokenizer, self.grammar_cache_bytes)
        bounds = self.bounds()
        self.validator = _validator(self.tax, bounds)

    def _load_vllm(self) -> None:
        from transformers import AutoTokenizer

        from decoding.vllm_engine import VllmEngine, require_vllm

        require_vllm()  # one line before anything loads
        has_tok = self.adapter_dir is not None and (self.adapter_dir / "tokenizer_config.json").is_file()
        tok_dir = self.adapter_dir if has_tok else self.model_dir
        self.tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        stops = [self.tokenizer.eos_token_id]
        self.vllm = VllmEngine(self.model_dir, self.adapter_dir, self.tokenizer, stops)

    def _generate_vllm(self, queries: Sequence[str]) -> list[Any]:
        from decoding.grounded import grounded_ebnf
        from schemas import extraction_schema

        s = self.settings
        grammars = schema = None
        if s.mode == "grounded":
            grammars = [grounded_ebnf(q, self.tax, max_value_chars=s.max_value_chars,
                                      max_entities=s.max_entities) for q in queries]
        elif s.mode == "schema":
            schema = extraction_schema(self.tax, **self.bounds())
        prompts = [chat_prompt(self.system_prompt, q) for q in queries]
        return self.vllm.generate(prompts, grammars, schema, s.max_new_tokens)

    @classmethod
    def from_run(cls, run: str | Path, settings: DecodeSettings | None = None,
                 tax: Taxonomy | None = None,
                 grammar_cache_bytes: int = DEFAULT_GRAMMAR_CACHE_BYTES) -> Parser:
        """The run's resolved base model, its adapter and the system prompt it was trained with."""
        model_dir, system_prompt = read_run(Path(run))
        return cls(model_dir, Path(run), system_prompt, tax or load_taxonomy(), settings or DecodeSettings(),
                   grammar_cache_bytes=grammar_cache_bytes)

    def with_settings(self, settings: DecodeSettings) -> Parser:
        """The same loaded model under other decode settings (dtype and threads are fixed at load)."""
        other = copy.copy(self)
        other.settings = settings
        other.validator = _validator(self.tax, other.bounds())
        other.last_stats = {}
        return other

    def bounds(self) -> dict[str, int | None]:
        # "none" is never told the bounds, so only the unbounded contract applies to it.
        s = self.settings
        if s.mode == "none":
            return {}
        if s.mode == "grounded" and s.max_entities != 0:  # the grammar allows one entity per word at most
            return {"max_value_chars": s.max_value_chars, "max_entities": None}
        return {"max_value_chars": s.max_value_chars, "max_entities": s.max_entities}

    def grammar_cache_size(self) -> int:
        """Bytes of compiled grammars the compiler's cache holds now (0 for vllm)."""
        compiler = getattr(self, "compiler", None)
        return compiler.get_cache_size_bytes() if compiler is not None else 0

    def generate(self, queries: Sequence[str], *, progress: bool = True,
                 desc: str | None = None, deadline: float | None = None) -> list[Any]:
        """Raw outputs (decoding.output.GenerationOutput), one per query, in order; past `deadline`
        (time.monotonic()) decoding.engine.DeadlineExceeded instead (local engines only)."""
        from decoding.fast import FastStats

        s = self.settings
        t0 = time.perf_counter()
        if s.engine == "vllm":
            outs = self._generate_vllm(queries)
            self.last_stats = {"seconds": time.perf_counter() - t0}
            return outs
        grammars = None
        if s.mode != "none":
            grammars = grammars_for_mode(self.compiler, s.mode, queries, self.tax,
                                         max_value_chars=s.max_value_chars, max_entities=s.max_entities)
        compile_s = time.perf_counter() - t0
        check_deadline(deadline, "after compiling the grammars")
        stats = FastStats()
        prompts = [chat_prompt(self.system_prompt, q) for q in queries]
        outs = generate(s.engine, self.model, self.tokenizer, prompts, grammars,
                        max_new_tokens=s.max_new_tokens, batch_size=s.batch_size,
                        desc=desc or f"predict ({s.engine}, {s.mode})", progress=progress, stats=stats,
                        jump_forward=s.jump_forward, deadline=deadline)
        self.last_stats = {"grammar_compile_s": round(compile_s, 3), "seconds": time.perf_counter() - t0,
                           **(stats.as_dict() if s.engine == "fast" else {})}
        return outs

    def parse_many(self, queries: Sequence[str], *, progress: bool = False,
                   deadline: float | None = None) -> list[dict[str, Any]]:
        outs = self.generate(queries, progress=progress, deadline=deadline)
        return [to_spans(q, o.text, o.truncated, self.validator, self.tax, self.settings.polarity)
                for q, o in zip(queries, outs, strict=True)]

    def parse(self, query: str) -> dict[str, Any]:
        return self.parse_many([query])[0]


def chat_prompt(system_prompt: str | None, query: str) -> list[dict[str, str]]:
    """The user message is the bare query. The system turn is sent exactly when a training row carries
    one (synth.writer.chat_example): an empty prompt means no system turn, not an empty one."""
    head = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return head + [{"role": "user", "content": query}]


def read_run(run: Path) -> tuple[Path, str | None]:
    """(base model dir, trained system prompt) of a run folder; one-line ConfigErrors otherwise."""
    card_path = run / "run_card.json"
    if not card_path.is_file():
        raise ConfigError([f"{card_path}: file not found; pass a run folder written by make train"])
    card = json.loads(card_path.read_text(encoding="utf-8"))
    base = (card.get("resolved_config") or {}).get("base_model")
    if not base:
        raise ConfigError([f"{card_path}: key resolved_config.base_model missing; retrain with make train"])
    if not (Path(base) / "config.json").is_file():
        raise ConfigError([f"{card_path}: resolved_config.base_model '{base}' is not a model directory; "
                           "build it with make model"])
    missing = [f for f in ADAPTER_FILES if not (run / f).is_file()]
    if missing:
        raise ConfigError([f"{run}: no {' or '.join(missing)}; "
                           "pass the run folder axolotl wrote the adapter to"])
    data = card.get("data") or {}
    if "system_prompt" not in data:
        raise ConfigError([f"{card_path}: key data.system_prompt missing; retrain with make train"])
    return Path(base), data["system_prompt"]


def _validator(tax: Taxonomy, bounds: dict[str, int | None]) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(extraction_schema(tax, **bounds))


def to_spans(query: str, text: str | None, truncated: bool, validator: Any,
             tax: Taxonomy | None = None, polarity: str = "model") -> dict[str, Any]:
    """A raw output as intent + entities with offsets into `query`; values not found there are dropped.

    Entities are located left to right, so a value that occurs twice gets the occurrence after the
    previous entity when there is one. A repeated (type, value, exclude) triple is dropped. Each entity
    says whether the user rules it out (`exclude`, decided by `polarity`: decoding/polarity.py), and an
    entity of a closed type (one with a lexicon) carries the `canonical` value its lexicon maps it to,
    for search.
    """
    try:
        pred = json.loads(text or "")
    except json.JSONDecodeError:
        return {"intent": None, "entities": [], "status": "truncated" if truncated else "invalid_json"}
    if not validator.is_valid(pred):
        return {"intent": None, "entities": [], "status": "schema_violation"}
    tax = tax or load_taxonomy()
    closed = tax.closed_types
    entities, seen, cursor = [], set(), 0
    for ent in resolve(query, pred["entities"], tax, polarity):
        value, exclude = ent["value"], bool(ent.get("exclude", False))
        start = query.find(value, cursor)
        if start < 0:
            start = query.find(value)
        if start < 0 or (ent["type"], value, exclude) in seen:
            continue
        seen.add((ent["type"], value, exclude))
        cursor = start + len(value)
        out = {"type": ent["type"], "value": value, "start": start, "end": start + len(value),
               "exclude": exclude}
        if ent["type"] in closed:
            out["canonical"] = closed[ent["type"]].canonical(value)
        entities.append(out)
    return {"intent": pred["intent"], "entities": entities, "status": "ok"}
