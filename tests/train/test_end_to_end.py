"""recipes/tiny-test.yml trained through the real `python -m train` -> `axolotl train` on CPU.

Pinned numbers come from this fixture (seed 0), the tiny model (seed 0) and recipe seed 42; the
tolerances absorb float differences between CPUs, not behaviour changes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

FIRST_LOSS = 7.69  # step-1 train loss of the untrained tiny model on the fixture


def _card(run: Path) -> dict:
    return json.loads((run / "run_card.json").read_text())


def test_run_card_has_provenance_throughput_and_losses(tiny_run: Path, chat_data: Path) -> None:
    card = _card(tiny_run)
    manifest = json.loads((chat_data / "manifest.json").read_text())
    assert card["recipe"] == "recipes/tiny-test.yml"
    assert card["data"]["manifest_sha256"] == manifest["sha256"]
    assert card["data"]["name"] == manifest["name"]
    assert card["seeds"]["seed"] == 42
    assert {"python", "torch", "transformers", "peft", "axolotl"} <= set(card["versions"])
    assert card["versions"]["axolotl"] == "0.19.0"
    assert card["steps"] == card["resolved_config"]["max_steps"]
    for key in ("wall_time_s", "train_runtime_s", "train_tokens_per_s", "examples_per_s"):
        assert card[key] > 0, key
    assert card["wall_time_s"] >= card["train_runtime_s"]
    # ~25 fixture rows of ~50 tokens fill a 256-token packed row; 4 rows per step.
    assert 40 < card["mean_tokens_per_example"] < 60
    assert 10 < card["examples_trained"] / card["steps"] < 25
    assert card["first_train_loss"] == pytest.approx(FIRST_LOSS, abs=0.15)
    assert card["final_train_loss"] < 1.5 and card["final_eval_loss"] < 1.5
    assert card["final_eval_loss"] < card["first_eval_loss"] / 4
    with (tiny_run / "loss_curve.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(card["steps"] + 1))  # step 0 = eval before training
    assert rows[0]["eval_loss"] and rows[-1]["eval_loss"]
    resolved = (tiny_run / "resolved.yml").read_text()
    assert str(chat_data / "chat" / "train.jsonl") in resolved


def _generate(model, tokenizer, messages: list[dict], max_new_tokens: int) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return out[0, ids["input_ids"].shape[1]:].tolist()


def test_adapter_loads_and_generation_stops_at_eos(tiny_run: Path, tiny_model: Path, chat_data: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_run)
    assert tokenizer.eos_token == "<|im_end|>"
    adapter = json.loads((tiny_run / "adapter_config.json").read_text())
    assert adapter["r"] == 16
    assert set(adapter["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                              "up_proj", "down_proj"}
    rows = [json.loads(line)["messages"]
            for line in (chat_data / "chat" / "validation.jsonl").read_text().splitlines()[:8]]
    limit = 64
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    base_lengths = [len(_generate(base, tokenizer, m[:2], limit)) for m in rows]
    # The untrained model never ends a turn on its own: stopping below is learned, not a default.
    assert base_lengths == [limit] * len(rows)

    model = PeftModel.from_pretrained(base, tiny_run)
    stopped = 0
    for messages in rows:
        new = _generate(model, tokenizer, messages[:2], limit)
        text = tokenizer.decode(new)
        assert text.startswith('{"intent":"'), text
        if new[-1] == tokenizer.eos_token_id and len(new) < limit:
            stopped += 1
    assert stopped >= 6, f"only {stopped}/8 generations ended with <|im_end|>"


def test_prepared_rows_train_only_the_answer(tiny_run: Path) -> None:
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_run)
    sets = [load_from_disk(str(p.parent)) for p in (tiny_run / "prepared").glob("*/state.json")]
    train = max(sets, key=len)
    for row in train.select(range(50)):
        trained = [i for i, lab in zip(row["input_ids"], row["labels"], strict=True) if lab != -100]
        text = tokenizer.decode(trained)
        assert text.startswith('{"intent":"') and text.endswith("}<|im_end|>"), text
        assert json.loads(text.removesuffix("<|im_end|>"))["intent"]
