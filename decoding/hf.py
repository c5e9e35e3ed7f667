"""Greedy batched generation with transformers, optionally under xgrammar grammars.

    model, tok = load_model("models/smollm2-135m-instruct", adapter_dir="runs/x/adapter")
    outs = generate_batch(model, tok, [[{"role": "user", "content": q}] for q in queries],
                          grammars=None, max_new_tokens=96, batch_size=16)

Prompts are sorted by length before batching so a batch pads little, and left-padded so every row's
continuation starts at the same column. A grammar list gives each prompt its own grammar (per-query
grounded decoding); a single grammar applies to all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from decoding.engine import DEFAULT_GRAMMAR_CACHE_BYTES
from decoding.output import GenerationOutput, finish_output
from decoding.precision import resolve_dtype

# name -> the dtype weights load in; bfloat16-mixed loads fp32 and converts its attention and MLP blocks
# after the merge (decoding.mixed_precision).
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
           "bfloat16-mixed": torch.float32}
# id(tokenizer), cache limit -> (tokenizer, GrammarCompiler)
_COMPILERS: dict[tuple[int, int], tuple[Any, Any]] = {}


def load_model(base_dir: str | Path, adapter_dir: str | Path | None = None, dtype: str = "float32",
               threads: int | None = None) -> tuple[Any, Any]:
    """A causal LM in eval mode, with a peft LoRA adapter merged in (faster than an unmerged one).

    `threads`: torch intra-op threads; None = $OMP_NUM_THREADS if set, else every core. On a machine
    shared with other jobs one thread can be far faster: measured here under load, a batch-4 decode
    step took ~65 ms on 1 thread and ~900 ms on 2 (threads spin-waiting on a busy core;
    OMP_WAIT_POLICY=PASSIVE, set before torch loads, avoids that too).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = resolve_dtype(dtype)
    if dtype not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} is not supported; use one of {', '.join(_DTYPES)} or auto")
    if not (Path(base_dir) / "config.json").is_file():
        raise FileNotFoundError(f"{base_dir}: no config.json, not a model directory (make model)")
    if adapter_dir is not None and not (Path(adapter_dir) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter_dir}: no adapter_config.json, not a LoRA adapter directory "
                                "(make train writes one into the run folder)")
    torch.set_num_threads(threads or int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=_DTYPES[dtype])
    # axolotl saves the tokenizer (and the chat template it trained with) next to the adapter.
    has_tok = adapter_dir is not None and (Path(adapter_dir) / "tokenizer_config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir if has_tok else base_dir)
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    if dtype == "bfloat16-mixed":
        from decoding.mixed_precision import to_bf16_blocks

        model = to_bf16_blocks(model)
    model.eval()
    if torch.cuda.is_available():
        model.to("cuda")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        pad = model.config.pad_token_id
        tokenizer.pad_token_id = pad if pad is not None else stop_token_ids(model, tokenizer)[0]
    return model, tokenizer


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Ids that end a turn: the generation config's eos plus the tokenizer's. Both matter when they
    disagree (the raw SmolLM2 GGUF tokenizer named <|im_start|>, which `make model` now fixes), and a
    fine-tuned tokenizer may name a turn end the base config lacks."""
    ids: list[int] = []
    for eos in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        for i in [eos] if isinstance(eos, int) else list(eos or []):
            if i not in ids:
                ids.append(i)
    if not ids:
        raise ValueError("the model has no eos_token_id in its generation_config or tokenizer")
    return ids


def grammar_compiler(model: Any, tokenizer: Any, cache_limit_bytes: int = DEFAULT_GRAMMAR_CACHE_BYTES) -> Any:
    """One xgrammar GrammarCompiler per tokenizer and cache limit (building its TokenizerInfo scans the
    vocabulary). Its cache of compiled grammars is evicted least recently used past `cache_limit_bytes`
    (xgrammar keeps at least the newest entry); 0 turns the cache off."""
    import xgrammar as xgr

    key = (id(tokenizer), cache_limit_bytes)
    if key not in _COMPILERS:
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size,
                                                  stop_token_ids=stop_token_ids(model, tokenizer))
        compiler = xgr.GrammarCompiler(info, max_threads=os.cpu_count() or 1,
                                       cache_enabled=cache_limit_bytes > 0,
                                       cache_limit_bytes=max(cache_limit_bytes, 1))
        _COMPILERS[key] = (tokenizer, compiler)
    return _COMPILERS[key][1]


def generate_batch(model: Any, tokenizer: Any, prompts: Sequence[list[dict[str, str]]],
                   grammars: Any = None, max_new_tokens: int = 128, batch_size: int = 16,
                   desc: str = "generate", progress: bool = True,
                   deadline: float | None = None) -> list[GenerationOutput]:
    """Greedy continuations of chat prompts, in the order given; DeadlineExceeded between batches once
    `deadline` (time.monotonic()) has passed."""
    from decoding.engine import check_deadline

    if isinstance(grammars, list) and len(grammars) != len(prompts):
        raise ValueError(f"got {len(grammars)} grammars for {len(prompts)} prompts; pass one per prompt")
    if not prompts:
        return []
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    stops = stop_token_ids(model, tokenizer)
    outputs: list[GenerationOutput | None] = [None] * len(texts)
    with torch.inference_mode(), tqdm(total=len(texts), desc=desc, unit="q", disable=not progress) as bar:
        for at in range(0, len(order), batch_size):
            check_deadline(deadline, f"before batch {at // batch_size + 1}")
            rows = order[at:at + batch_size]
            batch_grammars = [grammars[i] for i in rows] if isinstance(grammars, list) else grammars
            for i, out in zip(rows, _generate(model, tokenizer, [texts[i] for i in rows], batch_grammars,
                                              max_new_tokens, stops), strict=True):
                outputs[i] = out
            bar.update(len(rows))
    return [o for o in outputs if o is not None]


def _generate(model: Any, tokenizer: Any, texts: list[str], grammars: Any, max_new_tokens: int,
              stops: list[int]) -> list[GenerationOutput]:
    from transformers import LogitsProcessorList

    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    processors = LogitsProcessorList()
    if grammars is not None:
        from xgrammar.contrib.hf import LogitsProcessor

        # The processor holds per-row matchers, so it is built fresh for every generate() call.
        processors.append(LogitsProcessor(grammars))
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                         temperature=None, top_p=None, top_k=None, logits_processor=processors,
                         eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)
    new = out[:, enc["input_ids"].shape[1]:].tolist()
    return [finish_output(tokenizer, row, stops) for row in new]
