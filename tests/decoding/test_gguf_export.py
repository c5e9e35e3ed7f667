"""GGUF export for llama.cpp users: a run's adapter converted by llama.cpp's own script, loaded with the
wheel's base GGUF in llama-cpp-python, changes the model, and parses a query under the JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from decoding.gguf_export import export_run
from decoding.smollm2 import ensure_smollm2
from schemas import ConfigError, extraction_schema, load_taxonomy

TAX = load_taxonomy()
SYSTEM = "Extract the search intent and entities as JSON."


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = tmp_path_factory.mktemp("gguf") / "run"
    base = ensure_smollm2()
    model = AutoModelForCausalLM.from_pretrained(base)
    # Random (not zero) LoRA weights, so a loaded adapter must change the logits.
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, cfg).save_pretrained(run)
    card = {"resolved_config": {"base_model": str(base.resolve())}, "data": {"system_prompt": SYSTEM}}
    (run / "run_card.json").write_text(json.dumps(card))
    return run


@pytest.mark.slow
def test_exported_adapter_loads_in_llama_cpp_and_parses_a_query(run: Path) -> None:
    from llama_cpp import Llama, LlamaGrammar

    manifest = json.loads(export_run(run).read_text())
    assert manifest["system_prompt"] == SYSTEM and Path(manifest["adapter_gguf"]).stat().st_size > 100_000
    kw = {"n_ctx": 512, "n_threads": 1, "verbose": False, "logits_all": True}
    base = Llama(model_path=manifest["base_gguf"], **kw)
    tuned = Llama(model_path=manifest["base_gguf"], lora_path=manifest["adapter_gguf"], **kw)
    ids = base.tokenize(b"play Inception")
    base.eval(ids)
    tuned.eval(ids)
    delta = abs(base.scores[len(ids) - 1] - tuned.scores[len(ids) - 1]).max()
    assert delta > 1e-3  # the adapter is applied
    schema = extraction_schema(TAX, max_value_chars=16, max_entities=1)
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "who directed Parasite"}]
    prompt = tuned.tokenize(_chatml(messages).encode(), special=True)
    text = "".join(tuned.detokenize([t]).decode(errors="replace") for t in
                   _greedy(tuned, prompt, grammar, 96))
    assert jsonschema.Draft202012Validator(schema).is_valid(json.loads(text)), text


def _chatml(messages: list[dict[str, str]]) -> str:
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def _greedy(llm, prompt: list[int], grammar, max_tokens: int) -> list[int]:
    out = []
    for tok in llm.generate(prompt, temp=0.0, top_k=1, grammar=grammar):
        if tok == llm.token_eos() or len(out) >= max_tokens:
            break
        out.append(tok)
    return out


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run_card.json: file not found"):
        export_run(tmp_path)
