"""--set parsing: YAML scalars, dotted keys, list indices, errors naming the bad item."""

from __future__ import annotations

import pytest

from schemas.config import ConfigError
from train.overrides import apply_overrides, parse_set


@pytest.mark.parametrize(("item", "path", "value"), [
    ("lora_r=32", ["lora_r"], 32),
    ("learning_rate=2e-4", ["learning_rate"], 2e-4),        # a string in YAML 1.1; a float here
    ("learning_rate=2.0e-4", ["learning_rate"], 2.0e-4),
    ("lora_target_modules=1e3x", ["lora_target_modules"], "1e3x"),
    ("bf16=false", ["bf16"], False),
    ("bf16=auto", ["bf16"], "auto"),
    ("base_model=models/tiny", ["base_model"], "models/tiny"),
    ("special_tokens.pad_token=<|pad|>", ["special_tokens", "pad_token"], "<|pad|>"),
    ("datasets.0.shards=2", ["datasets", 0, "shards"], 2),
    ("lora_target_modules=[q_proj, v_proj]", ["lora_target_modules"], ["q_proj", "v_proj"]),
    ("split=train[:100]", ["split"], "train[:100]"),
    ("eval_steps=", ["eval_steps"], None),
    ("a.\u00b2=x", ["a", "\u00b2"], "x"),  # '²' passes str.isdigit() but is a key, not a list index
])
def test_parse_set(item: str, path: list, value: object) -> None:
    assert parse_set(item) == (path, value)


def test_apply_overrides_nests_and_leaves_input_alone() -> None:
    cfg = {"lora_r": 16, "datasets": [{"path": "a.jsonl"}], "special_tokens": {"eos_token": "<e>"}}
    out = apply_overrides(cfg, ["lora_r=8", "datasets.0.shards=4", "special_tokens.pad_token=<p>",
                                "fsdp_config.offload_params=true"])
    assert out == {"lora_r": 8, "datasets": [{"path": "a.jsonl", "shards": 4}],
                   "special_tokens": {"eos_token": "<e>", "pad_token": "<p>"},
                   "fsdp_config": {"offload_params": True}}
    assert cfg["lora_r"] == 16 and "shards" not in cfg["datasets"][0]


def test_bad_overrides_are_all_reported() -> None:
    with pytest.raises(ConfigError) as err:
        apply_overrides({"lora_r": 16, "datasets": [{"path": "a"}]},
                        ["lora_r", "datasets.3.path=x", "lora_r.x=1", "a..b=1", "x=[1"])
    problems = err.value.problems
    assert len(problems) == 5
    assert problems[0] == "--set lora_r: expected key=value, e.g. --set lora_r=32"
    assert problems[1].startswith("--set datasets.3.path=x: cannot apply")
    assert "needs a mapping above it" in problems[2]
    assert "empty part" in problems[3]
    assert "not valid YAML" in problems[4]
