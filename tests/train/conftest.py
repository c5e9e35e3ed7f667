"""Session fixtures for the train tests: a chat dataset in the `make data` format, the tiny random
Llama built from it, and one real `python -m train` run of recipes/tiny-test.yml on both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.fixture import write_fixture
from helpers.tiny import make_tiny

REPO = Path(__file__).resolve().parents[2]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "AXOLOTL_DO_NOT_TRACK": "1", "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(autouse=True, scope="session")
def _offline_repo_root() -> None:
    """Recipes name repo-relative paths (models/, recipes/deepspeed/): run from the repo root, offline."""
    os.chdir(REPO)
    os.environ.update(OFFLINE)


@pytest.fixture(scope="session")
def chat_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 rows (1,800 train / 200 validation) in data/<name>/chat/*.jsonl + manifest.json form."""
    return write_fixture(tmp_path_factory.mktemp("data") / "fixture", n=2000, seed=0)


@pytest.fixture(scope="session")
def tiny_model(chat_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny(chat_data, tmp_path_factory.mktemp("models") / "tiny-llama")


def run_train(args: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m train ...` as a user runs it, in its own process."""
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **OFFLINE))


@pytest.fixture(scope="session")
def tiny_run(chat_data: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """recipes/tiny-test.yml trained end to end through the real `axolotl train` (~1-2 min)."""
    run = tmp_path_factory.mktemp("runs") / "tiny-test"
    proc = run_train(["--recipe", "recipes/tiny-test.yml", "--data", str(chat_data), "--run", str(run),
                      "--set", f"base_model={tiny_model}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run
