"""GGUF export for llama.cpp users: a run's adapter converted by llama.cpp's own script, loaded with the
wheel's base GGUF in llama-cpp-python, changes the model, and parses a query under the JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from basemodel.smollm2 import ensure_smollm2
from export.gguf import export_run
from export.gguf_check import check_export
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
    """llama.cpp runs in a child process (export.gguf_check): a native crash fails this test with the
    signal's name instead of ending the test session."""
    manifest = json.loads(export_run(run).read_text())
    assert manifest["system_prompt"] == SYSTEM and Path(manifest["adapter_gguf"]).stat().st_size > 100_000
    found = check_export(run / "gguf" / "gguf.json", "who directed Parasite")
    assert found["adapter_logit_delta"] > 1e-3  # the adapter is applied
    schema = extraction_schema(TAX, max_value_chars=16, max_entities=1)
    assert jsonschema.Draft202012Validator(schema).is_valid(json.loads(found["text"])), found


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run_card.json: file not found"):
        export_run(tmp_path)
