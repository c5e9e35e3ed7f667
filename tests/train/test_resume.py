"""A killed `python -m train` resumes from its newest checkpoint, not from step 0.

Fast part: which checkpoint is chosen (complete ones only, same config only). Slow part: the tiny recipe
through the real axolotl on CPU, SIGKILLed (its whole process group, as a terminal's kill or the OOM
killer would) once a mid-run checkpoint exists, then the same command again.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import OFFLINE, REPO, run_train

from schemas.config import ConfigError
from train.run import CONFIG_STAMP, RESOLVED, checkpoints, config_sha256, latest_checkpoint, resume_point

CFG = {"base_model": "m", "lora_r": 8, "save_steps": 10}


def checkpoint(run: Path, step: int, complete: bool = True, cfg: dict | None = CFG) -> Path:
    """A checkpoint folder as the trainer leaves it, stamped with `cfg`'s hash (None: unstamped)."""
    path = run / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    if cfg is not None:
        (path / CONFIG_STAMP).write_text(config_sha256(cfg) + "\n")
    return path


def test_resume_picks_the_newest_complete_checkpoint_of_the_same_config(tmp_path: Path) -> None:
    assert resume_point(CFG, tmp_path, "auto") is None
    checkpoint(tmp_path, 10)
    newest = checkpoint(tmp_path, 20)
    checkpoint(tmp_path, 30, complete=False)  # killed while saving
    assert latest_checkpoint(tmp_path) == newest
    assert resume_point({**CFG, "resume_from_checkpoint": "x"}, tmp_path, "auto") == newest
    assert resume_point(CFG, tmp_path, "no") is None
    changed = {**CFG, "lora_r": 16}
    assert resume_point(changed, tmp_path, "auto") is None  # another config's weights: start over
    with pytest.raises(ConfigError, match="another config"):
        resume_point(changed, tmp_path, "yes")
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        resume_point(CFG, tmp_path / "empty", "yes")


def test_a_higher_checkpoint_of_an_earlier_config_is_never_resumed(tmp_path: Path) -> None:
    """Config A reached checkpoint-100 and was killed; a restart under config B (starting at step 0) was
    killed after checkpoint-50; B again must resume B's checkpoint-50, not A's checkpoint-100, though the
    folder's resolved.yml is B's."""
    b = {**CFG, "learning_rate": 0.001}
    checkpoint(tmp_path, 100, cfg=CFG)
    ours = checkpoint(tmp_path, 50, cfg=b)
    (tmp_path / RESOLVED).write_text("# header\n" + yaml.safe_dump(b))
    assert resume_point(b, tmp_path, "auto") == ours
    assert resume_point(CFG, tmp_path, "auto") == tmp_path / "checkpoint-100"
    with pytest.raises(ConfigError, match="checkpoint-100 was written under another config"):
        resume_point(b, tmp_path, "yes")  # yes insists on the newest one, and says why not


def test_an_unstamped_checkpoint_is_not_trusted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint(tmp_path, 10, cfg=None)
    (tmp_path / RESOLVED).write_text("# header\n" + yaml.safe_dump(CFG))
    assert resume_point(CFG, tmp_path, "auto") is None
    assert "has no config stamp" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="has no config stamp"):
        resume_point(CFG, tmp_path, "yes")


def stamped(run: Path) -> bool:
    return any((c / CONFIG_STAMP).is_file() for c in checkpoints(run))


STEPS, EVERY = 40, 10
LOSS_LINE = re.compile(r"\{'loss': ")


@pytest.mark.slow
def test_killed_tiny_run_resumes_from_its_last_checkpoint(chat_data: Path, tiny_model: Path,
                                                          tmp_path: Path) -> None:
    run = tmp_path / "tiny"
    args = ["--recipe", "recipes/tiny-test.yml", "--data", str(chat_data), "--run", str(run),
            "--set", f"base_model={tiny_model}", "--set", f"save_steps={EVERY}", "--set", "save_only_model=false",
            "--set", "save_total_limit=2", "--max-steps", str(STEPS)]
    out = tmp_path / "killed-run.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "train", *args], cwd=REPO, start_new_session=True,
                                stdout=sink, stderr=subprocess.STDOUT, env=dict(os.environ, **OFFLINE))
    try:
        deadline = time.monotonic() + 400
        # A checkpoint is complete once the trainer has stamped it with its config (after trainer_state.json).
        while not stamped(run) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and axolotl under it
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, out.read_text(errors="replace")[-3000:]
    killed_at = next((c for c in checkpoints(run) if (c / CONFIG_STAMP).is_file()), None)
    assert killed_at is not None, "no checkpoint before the kill"
    step = int(killed_at.name.rsplit("-", 1)[1])
    assert step < STEPS and not (run / "run_card.json").exists()
    assert (killed_at / "optimizer.pt").is_file()  # save_only_model=false: Adam state comes back too
    resolved = yaml.safe_load((run / RESOLVED).read_text())
    assert (killed_at / CONFIG_STAMP).read_text().strip() == config_sha256(resolved)  # stamped by the trainer

    log_before = (run / "train.log").read_text(errors="replace")
    done = run_train(args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"resuming from {run}/checkpoint-" in done.stdout
    resumed = int(re.search(r"resuming from .*checkpoint-(\d+)", done.stdout).group(1))
    assert resumed >= step
    # Only the steps after the checkpoint were trained again: one loss line per step (logging_steps 1).
    new_log = (run / "train.log").read_text(errors="replace")[len(log_before):]
    assert len(LOSS_LINE.findall(new_log)) == STEPS - resumed
    card = json.loads((run / "run_card.json").read_text())
    assert card["steps"] == STEPS and card["resolved_config"]["resume_from_checkpoint"].endswith(f"-{resumed}")
    # The loss curve still covers every step: the history came back with the checkpoint.
    assert [r["step"] for r in card["loss_curve"] if r["loss"] is not None] == list(range(1, STEPS + 1))
