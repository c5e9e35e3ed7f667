"""Loss only on assistant tokens, and on the <|im_end|> that ends the assistant turn.

Tokenises fixture rows exactly as axolotl does for the shipped CPU recipe: the resolved config goes
through axolotl's own `load_cfg`, `load_tokenizer` and the `chat_template` prompt strategy that its
dataset pipeline calls per row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from basemodel.smollm2 import ensure_smollm2
from train.run import RunRequest, resolve, write_resolved


@pytest.fixture(scope="module")
def axolotl_strategy(chat_data: Path, tmp_path_factory: pytest.TempPathFactory):
    ensure_smollm2()
    from axolotl.cli.config import load_cfg
    from axolotl.loaders import load_tokenizer
    from axolotl.prompt_strategies import load

    req = RunRequest(recipe=Path("recipes/cpu-smollm2-135m-lora.yml"), data=chat_data,
                     run=tmp_path_factory.mktemp("runs") / "mask")
    cfg, run_dir, _ = resolve(req)
    cfg = load_cfg(str(write_resolved(cfg, run_dir, req)))
    tokenizer = load_tokenizer(cfg)
    return tokenizer, load("chat_template", tokenizer, cfg, cfg.datasets[0])


def test_only_assistant_json_and_eos_carry_loss(axolotl_strategy, chat_data: Path) -> None:
    tokenizer, strategy = axolotl_strategy
    assert tokenizer.eos_token == "<|im_end|>"
    rows = [json.loads(line) for line in (chat_data / "chat" / "train.jsonl").read_text().splitlines()[:20]]
    for row in rows:
        out = strategy.tokenize_prompt(row)
        ids, labels = out["input_ids"], out["labels"]
        trained = [i for i, lab in zip(ids, labels, strict=True) if lab != -100]
        assert [lab for lab in labels if lab != -100] == trained  # labels are the ids, unshifted
        answer = row["messages"][2]["content"]
        assert tokenizer.decode(trained) == answer + "<|im_end|>"
        # Everything before the answer (system prompt, query, role headers) is masked.
        first = next(i for i, lab in enumerate(labels) if lab != -100)
        prompt = tokenizer.decode(ids[:first])
        assert row["messages"][0]["content"] in prompt and row["messages"][1]["content"] in prompt
        assert prompt.endswith("<|im_start|>assistant\n")
        assert all(lab == -100 for lab in labels[:first])
