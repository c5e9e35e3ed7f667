"""Run a model over labelled records and write the long-form predictions table.

Usage: python -m eval.predict --records data/default/test.jsonl --model models/smollm2-135m-instruct
           [--adapter runs/x/adapter] [--data data/default | --zero-shot] [--mode grounded|schema|none]
           [--batch-size 16] [--max-new-tokens 96] [--limit N] [--threads N] --out runs/x/pred/test

Writes into the output folder:
  predictions.parquet  gold and pred rows (eval.predictions contract)
  outputs.jsonl        per id: raw text, status, n_tokens, truncated, ungrounded and duplicate values
  summary.json         counts per status, ungrounded and duplicate values, queries/s, tokens/s

The user message is the bare query. The fine-tuned model gets the short system prompt it was trained
with (the dataset manifest's `system_prompt`); a zero-shot baseline gets the long instructions rendered
from the taxonomy (eval/prompts/zero_shot_system.jinja). Unparseable or invalid outputs are statuses,
never crashes. Every predicted entity is scored as the model wrote it, in every mode: values that do
not occur in the query and repeated values are counted apart (ungrounded_values, duplicate_values),
never dropped, since dropping them would delete false positives and flatter the unconstrained modes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jsonschema

# chat_prompt lives with the Parser (decoding/parser.py), the one path eval and the service share.
from decoding.parser import chat_prompt
from decoding.polarity import resolve
from eval.predictions import STATUSES, long_rows, write_predictions
from schemas import ConfigError, Taxonomy, extraction_schema, load_taxonomy
from schemas.examples import worked_example
from schemas.outputs import claim_output_folder

if TYPE_CHECKING:
    from apiclient import ClientConfig

log = logging.getLogger(__name__)
PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


@dataclass
class Scored:
    pred: dict[str, Any] | None
    status: str
    ungrounded: int = 0   # predicted values that are not a substring of the query (case-insensitive)
    duplicates: int = 0   # repeats of a (type, value, exclude) already predicted for this query


# --- prompts -----------------------------------------------------------------------------------------

def manifest_system_prompt(data_dir: str | Path) -> str:
    """The short system prompt the fine-tuned model was trained with."""
    path = Path(data_dir) / "manifest.json"
    if not path.is_file():
        raise ConfigError([f"{path}: file not found; build the dataset first (make data)"])
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if "system_prompt" not in manifest:
        raise ConfigError([f"{path}: key 'system_prompt' missing; rebuild the dataset with make data"])
    return str(manifest["system_prompt"])


def zero_shot_system_prompt(tax: Taxonomy) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPTS_DIR), undefined=jinja2.StrictUndefined,
                             autoescape=False)
    return env.get_template("zero_shot_system.jinja").render(
        intents=list(tax.intents.values()), entity_types=list(tax.entity_types.values()),
        example=worked_example(tax)).strip()




# --- cache key ---------------------------------------------------------------------------------------

def sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def prediction_key(records: Sequence[Mapping[str, Any]], tax: Taxonomy,
                   train_data: str | None) -> dict[str, Any]:
    """What a cached predictions.parquet depends on besides the model: the full records (gold rows come
    from their labels, so a relabelled record must not reuse stale gold), the taxonomy's content (a
    renamed label changes prompts, schema and gold alike) and the training data the system learned from
    (the run card's manifest hash, or the baseline's training records)."""
    taxonomy = {k: v for k, v in dataclasses.asdict(tax).items()
                if k not in ("path", "unsearchable", "negation")}
    return {"records_sha256": sha256_json(list(records)), "n": len(records),
            "taxonomy_sha256": sha256_json(taxonomy), "train_data": train_data}


def adapter_train_data(adapter_dir: str | Path | None) -> str | None:
    """The data manifest hash the adapter's run card records (None: no adapter, or no card)."""
    if adapter_dir is None:
        return None
    card = Path(adapter_dir) / "run_card.json"
    if not card.is_file():
        return None
    data = json.loads(card.read_text(encoding="utf-8")).get("data") or {}
    manifest = data.get("manifest_sha256")
    return sha256_json(manifest) if manifest else None


# --- scoring one output ------------------------------------------------------------------------------

def score_output(text: str, truncated: bool, query: str, validator: jsonschema.Validator,
                 tax: Taxonomy | None = None, polarity: str = "model") -> Scored:
    """Parse and validate; keep every entity (raw output is what gets scored) and count the ungrounded
    and repeated ones. Repeats are harmless to the scores (entities are sets in sql/scoring). Which
    values are ruled out is decided by `polarity` (decoding.polarity), as the service does."""
    try:
        pred = json.loads(text)
    except json.JSONDecodeError:
        return Scored(None, "truncated" if truncated else "invalid_json")
    if not validator.is_valid(pred):
        return Scored(None, "schema_violation")
    # the polarity is kept: an entity the user rules out is scored as an exclusion (sql/scoring)
    raw = (pred["entities"] if polarity == "model"
           else resolve(query, pred["entities"], tax or load_taxonomy(), polarity))
    entities = [{"type": e["type"], "value": e["value"], **({"exclude": True} if e.get("exclude") else {})}
                for e in raw]
    ungrounded = sum(e["value"].lower() not in query.lower() for e in entities)
    distinct = {(e["type"], e["value"], bool(e.get("exclude"))) for e in entities}
    return Scored({"intent": pred["intent"], "entities": entities}, "ok", ungrounded,
                  len(entities) - len(distinct))


# --- the run -----------------------------------------------------------------------------------------

@dataclass
class RawOutput:
    text: str | None       # None when no answer came back (HTTP failure)
    n_tokens: int
    truncated: bool
    error: str | None = None


def write_outputs(records: Sequence[Mapping[str, Any]], outputs: Sequence[Any],
                  validator: jsonschema.Validator, out: Path, summary: dict[str, Any],
                  tax: Taxonomy | None = None, polarity: str = "model") -> Path:
    """Score every output; write predictions.parquet, outputs.jsonl and summary.json into `out`."""
    rows: list[dict[str, Any]] = []
    stats: Counter[str] = Counter()
    with (out / "outputs.jsonl").open("w", encoding="utf-8") as f:
        for rec, o in zip(records, outputs, strict=True):
            s = score_output(o.text or "", o.truncated, rec["query"], validator, tax, polarity)
            rows += long_rows(rec, s.pred, s.status)
            stats[s.status] += 1
            stats["ungrounded_values"] += s.ungrounded
            stats["duplicate_values"] += s.duplicates
            line = {"id": rec["id"], "text": o.text, "status": s.status, "n_tokens": o.n_tokens,
                    "truncated": o.truncated, "ungrounded_values": s.ungrounded,
                    "duplicate_values": s.duplicates}
            if getattr(o, "error", None):
                line["error"] = o.error
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    path = write_predictions(out / "predictions.parquet", rows)
    seconds, n_tokens = summary.get("seconds") or 0.0, sum(o.n_tokens for o in outputs)
    summary = {
        **summary, "n": len(records), "polarity": polarity,
        "status": {st: stats[st] for st in STATUSES},
        "truncated_outputs": sum(o.truncated for o in outputs),
        # kept and scored; counted here so a mode that invents values shows it
        "ungrounded_values": stats["ungrounded_values"], "duplicate_values": stats["duplicate_values"],
        "queries_per_s": round(len(records) / seconds, 3) if seconds else None,
        "tokens_per_s": round(n_tokens / seconds, 1) if seconds else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log.info("predictions: %s", json.dumps(summary))
    return path


def predict_records(records: Sequence[Mapping[str, Any]], model_dir: str | Path,
                    adapter_dir: str | Path | None, system_prompt: str | None, mode: str = "grounded",
                    batch_size: int = 16, max_new_tokens: int = 96, out_dir: str | Path = "predictions",
                    tax: Taxonomy | None = None,
                    *, max_value_chars: int | None = 80, max_entities: int | None = 8,
                    dtype: str = "float32", threads: int | None = None, engine: str = "fast",
                    polarity: str = "model") -> Path:
    """Decode every record's query with a local model; returns the predictions.parquet path."""
    from decoding.grounded import MODES
    from decoding.parser import DecodeSettings, Parser
    from decoding.precision import resolve_dtype

    if mode not in MODES:
        raise ValueError(f"unknown decoding mode {mode!r}; expected one of {', '.join(MODES)}")
    tax = tax or load_taxonomy()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = DecodeSettings(engine=engine, mode=mode, batch_size=batch_size, max_new_tokens=max_new_tokens,
                              max_value_chars=max_value_chars, max_entities=max_entities, dtype=dtype,
                              threads=threads, polarity=polarity)
    parser = Parser(Path(model_dir), None if adapter_dir is None else Path(adapter_dir), system_prompt, tax,
                    settings)
    gens = parser.generate([r["query"] for r in records])
    stats = parser.last_stats

    bounds = parser.bounds()
    validator = jsonschema.Draft202012Validator(extraction_schema(tax, **bounds))
    summary = {"backend": "hf", "engine": engine, "mode": mode, "model_dir": str(model_dir),
               "adapter_dir": None if adapter_dir is None else str(adapter_dir),
               "dtype": resolve_dtype(dtype),
               "batch_size": batch_size, "max_new_tokens": max_new_tokens, **bounds,
               "seconds": round(stats["seconds"], 2),
               **{k: v for k, v in stats.items() if k != "seconds"}}
    return write_outputs(records, gens, validator, out, summary, tax, polarity)


def rescore_outputs(records: Sequence[Mapping[str, Any]], out_dir: str | Path, tax: Taxonomy,
                    polarity: str) -> Path:
    """predictions.parquet again from the raw outputs.jsonl a local decode left in `out_dir`, under the
    taxonomy and `polarity` given now: a new polarity setting or negation list needs no decoding."""
    out = Path(out_dir)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    raw = {o["id"]: o for o in read_jsonl(out / "outputs.jsonl")}
    missing = [r["id"] for r in records if r["id"] not in raw]
    if missing:
        raise ConfigError([f"{out / 'outputs.jsonl'}: no output for record {missing[0]}; "
                           "decode again (--force)"])
    outputs = [RawOutput(raw[r["id"]]["text"], raw[r["id"]]["n_tokens"], raw[r["id"]]["truncated"],
                         raw[r["id"]].get("error")) for r in records]
    bounds = {k: summary[k] for k in ("max_value_chars", "max_entities") if k in summary}
    validator = jsonschema.Draft202012Validator(extraction_schema(tax, **bounds))
    return write_outputs(records, outputs, validator, out, summary, tax, polarity)


def predict_openai(records: Sequence[Mapping[str, Any]], cfg: ClientConfig, system_prompt: str | None,
                   out_dir: str | Path, tax: Taxonomy | None = None, *, cache_dir: str | Path | None = None,
                   max_value_chars: int | None = 80, max_entities: int | None = 8,
                   progress: bool = True) -> Path:
    """Score a served model (any OpenAI-compatible endpoint) the same way as a local one.

    OpenAI strict mode gets the unbounded schema (the form it accepts); llama.cpp's json_object
    schema gets the bounds, since a small model can loop inside a string there too.
    """
    from apiclient import ChatRequest, ResponseCache, response_format_for, run_all, summarize

    tax = tax or load_taxonomy()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bounded = cfg.response_format == "json_object_schema"
    bounds = {"max_value_chars": max_value_chars, "max_entities": max_entities} if bounded else {}
    # Sent in the form the endpoint accepts; every answer is then checked against the same rules as a
    # local model's (strict answers carry "exclude": false on every wish, which those rules allow).
    sent = extraction_schema(tax, **bounds, strict=cfg.response_format == "json_schema")
    schema = extraction_schema(tax, **bounds)
    fmt = response_format_for(cfg.response_format, sent, "extraction")
    requests = [ChatRequest(chat_prompt(system_prompt, r["query"]), temperature=0.0, response_format=fmt)
                for r in records]
    cache = ResponseCache.in_dir(cache_dir or cfg.cache_dir or out)
    t0 = time.perf_counter()
    try:
        results = run_all(requests, cfg, cache, progress)
    finally:
        cache.close()
    seconds = time.perf_counter() - t0
    outputs = [RawOutput(r.content, r.completion_tokens, r.finish_reason == "length", r.error)
               for r in results]
    summary = {"backend": "openai", "mode": cfg.response_format, "model": cfg.model, "base_url": cfg.base_url,
               **bounds, "seconds": round(seconds, 2), "usage": summarize(results, cfg)}
    return write_outputs(records, outputs, jsonschema.Draft202012Validator(schema), out, summary)


# --- command line ------------------------------------------------------------------------------------

def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", required=True, type=Path, help="e.g. data/default/test.jsonl")
    ap.add_argument("--model", required=True, type=Path, help="base model directory")
    ap.add_argument("--adapter", type=Path, default=None, help="LoRA adapter directory (merged at load)")
    prompt = ap.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--data", type=Path, help="dataset folder whose manifest holds the system prompt")
    prompt.add_argument("--zero-shot", action="store_true", help="long instructions from the taxonomy")
    ap.add_argument("--mode", default="grounded", choices=("grounded", "schema", "none"))
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--limit", type=int, default=None, help="first N records only")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tax = load_taxonomy()
    try:
        claim_output_folder(args.out, (("summary.json", '"mode"'),))
        system = zero_shot_system_prompt(tax) if args.zero_shot else manifest_system_prompt(args.data)
        records = read_jsonl(args.records)[: args.limit]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    path = predict_records(records, args.model, args.adapter, system, args.mode, args.batch_size,
                           args.max_new_tokens, args.out, tax, threads=args.threads)
    print(path)


if __name__ == "__main__":
    main()
