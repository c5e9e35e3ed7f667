"""One real `python -m serve` process on a free loopback port, serving a run folder built from the real
SmolLM2-135M (a zero-initialised LoRA adapter: the same predictions as the base model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from servers import free_port

from decoding.smollm2 import ensure_smollm2

REPO = Path(__file__).resolve().parents[2]
SYSTEM = "Extract the search intent and entities as JSON."


def make_run(root: Path) -> Path:
    """A run folder as make train leaves it: adapter files and a run card naming base model and prompt."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = ensure_smollm2()
    run = root / "run"
    model = AutoModelForCausalLM.from_pretrained(base)
    get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(run)
    card = {"resolved_config": {"base_model": str(base.resolve())}, "data": {"system_prompt": SYSTEM}}
    (run / "run_card.json").write_text(json.dumps(card))
    return run


def small_eval_config(root: Path) -> Path:
    """eval/config.yml with tighter bounds: the base model (not fine-tuned) otherwise loops to the limits."""
    cfg = yaml.safe_load((REPO / "eval/config.yml").read_text())
    cfg["decode"] |= {"max_new_tokens": 96, "max_value_chars": 24, "max_entities": 2}
    path = root / "eval.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@dataclass
class Service:
    url: str
    process: subprocess.Popen
    log: Path


def start_service(args: list[str], log: Path, timeout_s: float = 180) -> Service:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               OMP_NUM_THREADS="1")
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "serve", *args, "--port", str(port)], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return Service(url, proc, log)
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"serve not ready after {timeout_s} s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("serve")
    run = make_run(root)
    cfg = root / "serve.yml"
    text = (REPO / "serve/config.yml").read_text()
    # A small queue limit makes 503 testable; a longer wait makes concurrent requests meet in one batch.
    cfg.write_text(text.replace("queue_limit: 256", "queue_limit: 40").replace("max_wait_ms: 5", "max_wait_ms: 300"))
    svc = start_service(["--run", str(run), "--config", str(cfg), "--eval-config", str(small_eval_config(root))],
                        root / "serve.log")
    try:
        yield svc
    finally:
        svc.process.terminate()
        svc.process.wait(timeout=30)
