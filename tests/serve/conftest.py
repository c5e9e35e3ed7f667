"""One real `python -m serve` process on a free loopback port, serving a run folder built from the real
SmolLM2-135M (a zero-initialised LoRA adapter: the same predictions as the base model)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from servers import free_port

from basemodel.smollm2 import ensure_smollm2

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


def service_config(path: Path, **changes: object) -> Path:
    """serve/config.yml with some keys changed (comments kept), written to `path`."""
    text = (REPO / "serve/config.yml").read_text()
    for key, value in changes.items():
        text, n = re.subn(rf"^{key}: \S+", f"{key}: {value}", text, flags=re.M)
        assert n == 1, f"serve/config.yml has no key {key}"
    path.write_text(text)
    return path


def start_service(args: list[str], log: Path, timeout_s: float = 180, api_key: str | None = None) -> Service:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               OMP_NUM_THREADS="1")
    env.pop("SERVE_API_KEY", None)
    if api_key is not None:
        env["SERVE_API_KEY"] = api_key
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
def served_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, eval config) shared by every service the tests start."""
    root = tmp_path_factory.mktemp("run")
    return make_run(root), small_eval_config(root)


@contextmanager
def running(served_run: tuple[Path, Path], root: Path, api_key: str | None = None,
            **changes: object) -> Iterator[Service]:
    run, eval_cfg = served_run
    cfg = service_config(root / "serve.yml", **changes)
    svc = start_service(["--run", str(run), "--config", str(cfg), "--eval-config", str(eval_cfg)],
                        root / "serve.log", api_key=api_key)
    try:
        yield svc
    finally:
        svc.process.terminate()
        svc.process.wait(timeout=30)


@pytest.fixture(scope="session")
def service(served_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # A small queue limit makes 503 testable; a longer wait makes concurrent requests meet in one batch; a
    # 1 MB grammar cache makes its bound visible after a few long queries.
    with running(served_run, tmp_path_factory.mktemp("serve"), queue_limit=40, max_wait_ms=300,
                 grammar_cache_mb=1) as svc:
        yield svc


API_KEY = "test-key-not-secret"


@pytest.fixture(scope="module")
def strict_service(served_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Another service with SERVE_API_KEY set and a 2 s request timeout (a long batch runs past it)."""
    with running(served_run, tmp_path_factory.mktemp("strict"), api_key=API_KEY, request_timeout_s=2,
                 max_wait_ms=300) as svc:
        yield svc
