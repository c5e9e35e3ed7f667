"""`decode.engine: vllm` for the GPU recipes: the base model in vLLM, the run's LoRA adapter through
vLLM's LoRA support, and each query's grounded grammar through vLLM's structured outputs (its
xgrammar backend takes the same EBNF that decoding.grounded writes, so values stay spans of the query).

vLLM is an optional extra (`pip install '.[gpu]'`, CUDA only) that CI never installs: here the request
construction is checked statically (tests/decoding/test_vllm_engine.py compiles the grammars it sends
with the same xgrammar), and scripts/gpu_check.sh runs it for real when vLLM imports on a GPU machine.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from decoding.output import GenerationOutput


def require_vllm() -> Any:
    if importlib.util.find_spec("vllm") is None:
        raise RuntimeError("decode.engine 'vllm' needs vLLM and a CUDA GPU: pip install '.[gpu]' on a GPU "
                           "machine, or set decode.engine: fast in eval/config.yml")
    import vllm

    return vllm


def structured_field(sampling_params_cls: Any) -> str:
    """vLLM renamed `guided_decoding` (GuidedDecodingParams) to `structured_outputs` in 0.10.2."""
    params = inspect.signature(sampling_params_cls).parameters
    return "structured_outputs" if "structured_outputs" in params else "guided_decoding"


def sampling_kwargs(grammar: str | None, schema: dict | None, max_new_tokens: int, stop_ids: list[int],
                    field: str = "structured_outputs") -> dict[str, Any]:
    """Greedy, the same stop tokens and budget as the CPU engines, one grammar or schema per request.

    Returned as plain data (the structured-output part as a dict for StructuredOutputsParams /
    GuidedDecodingParams), so it can be checked without vLLM."""
    kwargs: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_new_tokens, "stop_token_ids": stop_ids,
                              "skip_special_tokens": True}
    if grammar is not None:
        kwargs[field] = {"grammar": grammar}
    elif schema is not None:
        kwargs[field] = {"json": schema}
    return kwargs


class VllmEngine:
    """Holds the vLLM engine; `generate` mirrors decoding.engine.generate's contract."""

    def __init__(self, model_dir: Path, adapter_dir: Path | None, tokenizer: Any, stop_ids: list[int],
                 max_lora_rank: int = 64):
        vllm = require_vllm()
        self.tokenizer, self.stop_ids = tokenizer, stop_ids
        # Structured outputs default to the xgrammar backend, which takes decoding.grounded's EBNF.
        self.llm = vllm.LLM(model=str(model_dir), enable_lora=adapter_dir is not None,
                            max_lora_rank=max_lora_rank)
        self.lora = None
        if adapter_dir is not None:
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest("run", 1, str(adapter_dir))

    def generate(self, prompts: Sequence[list[dict[str, str]]], grammars: Sequence[str] | None,
                 schema: dict | None, max_new_tokens: int) -> list[GenerationOutput]:
        from vllm import SamplingParams

        field = structured_field(SamplingParams)
        if field == "structured_outputs":
            from vllm.sampling_params import StructuredOutputsParams as Params
        else:
            from vllm.sampling_params import GuidedDecodingParams as Params
        texts = [self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                 for p in prompts]
        params = []
        for i in range(len(texts)):
            grammar = grammars[i] if grammars else None
            kw = sampling_kwargs(grammar, schema, max_new_tokens, self.stop_ids, field)
            if field in kw:
                kw[field] = Params(**kw[field])
            params.append(SamplingParams(**kw))
        outs = self.llm.generate(texts, params, lora_request=self.lora, use_tqdm=False)
        results = []
        for o in outs:
            c = o.outputs[0]
            results.append(GenerationOutput(c.text, len(c.token_ids), c.finish_reason == "length"))
        return results
