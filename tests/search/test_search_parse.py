"""`python -m search --run` predicts as eval and the service do: decoding.parser.Parser under
eval/config.yml's decode settings, over a run folder built from the real SmolLM2-135M (a zero-initialised
LoRA adapter: the base model's predictions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from basemodel.smollm2 import ensure_smollm2
from decoding.parser import DecodeSettings, Parser
from eval.config import load_eval_config
from schemas import load_taxonomy
from search.parse import to_extraction

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["who directed Parasite", "a tense sci-fi movie from the 80s"]


def make_run(root: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = ensure_smollm2()
    run = root / "run"
    get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=2, target_modules=["q_proj"])
                   ).save_pretrained(run)
    card = {"resolved_config": {"base_model": str(base.resolve())},
            "data": {"system_prompt": "Extract the search intent and entities as JSON."}}
    (run / "run_card.json").write_text(json.dumps(card))
    return run


def test_search_run_parses_with_the_parser_under_eval_decode_settings(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    cfg = yaml.safe_load((ROOT / "eval/config.yml").read_text())
    # Tight bounds: the base model (not fine-tuned) otherwise loops to the limits, slowly on a CPU.
    cfg["decode"] |= {"max_new_tokens": 48, "max_value_chars": 24, "max_entities": 2}
    eval_cfg = tmp_path / "eval.yml"
    eval_cfg.write_text(yaml.safe_dump(cfg))
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "search", "--run", str(run), "--eval-config", str(eval_cfg),
                           "--json", *QUERIES], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    settings = DecodeSettings.of(load_eval_config(eval_cfg).decode)
    want = Parser.from_run(run, settings, load_taxonomy()).parse_many(QUERIES)
    usable = [(q, to_extraction(p)) for q, p in zip(QUERIES, want, strict=True) if p["status"] == "ok"]
    assert usable and [(p["query"], p["extraction"]) for p in printed] == usable
