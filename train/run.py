"""One training run: check, resolve, write the resolved config, run `axolotl train`, write the run card.

Run folder: without --run, runs/<recipe stem>, or the first free runs/<recipe stem>-2, -3, ... when
that folder already holds a finished run (a run_card.json), so a rerun never overwrites an adapter
that may already have been evaluated. `--run DIR` is used as given, but refused if it holds a
finished run. A folder without a run card (a crashed or interrupted run) is reused, and training
resumes from its newest complete checkpoint-N/ (axolotl's own, every `save_steps`) written under the
same resolved config (`--resume auto`, the default; `yes` insists, `no` starts at step 0). The trainer
stamps each checkpoint with the sha256 of the config that wrote it (train.axolotl_cli,
`config.sha256`), so a checkpoint left by an earlier config, in the same folder, is never taken.
The folder gets:
  resolved.yml     the exact flat config axolotl received (recipe + --set + data/output paths)
  train.log        everything axolotl printed
  adapter_*        the LoRA adapter and tokenizer (axolotl's output_dir)
  run_card.json    provenance, throughput and losses; loss_curve.csv the per-step losses
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas.config import ConfigError, read_jsonl
from schemas.outputs import check_output_folder, mark_output_folder
from train.hardware import hardware_problems, needs_cpu_bf16, probe_machine, resolve_precision
from train.overrides import apply_overrides
from train.recipe import load_recipe, recipe_problems

OFFLINE_ENV = {
    "AXOLOTL_DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
}
RESOLVED = "resolved.yml"
CONFIG_STAMP = "config.sha256"     # in each checkpoint-N/: the config that wrote it (train.axolotl_cli)
# A run folder written before output folders carried the marker (schemas.outputs).
RUN_MARK = ((RESOLVED, "# Resolved by python -m train"), ("run_card.json", '"resolved_config"'))


@dataclass
class RunRequest:
    recipe: Path
    data: Path
    run: Path | None = None
    sets: list[str] = field(default_factory=list)
    max_steps: int | None = None
    resume: str = "auto"  # auto | yes | no: from the newest checkpoint of an interrupted run


def exit_status(call: Any, *args: Any) -> int:
    """Run a command's work: 0 when done, 2 with the config problems printed one per line, 1 with a
    training failure's one line (the exit statuses of python -m train and python -m train.sweep)."""
    try:
        call(*args)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


def choose_run_dir(recipe: Path, run: Path | None, root: Path = Path("runs")) -> Path:
    if run is not None:
        if (run / "run_card.json").exists():
            raise ConfigError([f"--run {run}: already holds a finished run (run_card.json); "
                               "choose another --run or delete that folder"])
        check_output_folder(run, RUN_MARK)
        return run
    base = root / recipe.stem
    if not (base / "run_card.json").exists():
        check_output_folder(base, RUN_MARK)
        return base
    n = 2
    while (root / f"{recipe.stem}-{n}" / "run_card.json").exists():
        n += 1
    return root / f"{recipe.stem}-{n}"


def point_at_data(cfg: dict[str, Any], data: Path, run_dir: Path) -> dict[str, Any]:
    """Datasets read DATA/chat/<same file name>; outputs and the tokenised cache go in the run folder."""
    for key in ("datasets", "test_datasets"):
        for entry in cfg.get(key) or []:
            if isinstance(entry, dict) and entry.get("path"):
                entry["path"] = str(data / "chat" / Path(entry["path"]).name)
    cfg["output_dir"] = str(run_dir)
    cfg["dataset_prepared_path"] = str(run_dir / "prepared")
    return cfg


def input_problems(cfg: dict[str, Any], data: Path) -> list[str]:
    """Missing data files or a missing local base model, with the make target that creates them."""
    problems = []
    for key in ("datasets", "test_datasets"):
        for i, entry in enumerate(cfg.get(key) or []):
            path = Path(entry.get("path", "")) if isinstance(entry, dict) else None
            if path and not path.is_file():
                problems.append(f"{key}[{i}].path: {path} not found; run `make data` (or pass --data DIR)")
            elif path and path.suffix == ".jsonl":
                try:  # a corrupt line would otherwise surface minutes later, deep inside axolotl
                    read_jsonl(path, "rebuild it with make data")
                except ConfigError as exc:
                    problems += [f"{key}[{i}].path: {p}" for p in exc.problems]
    base = str(cfg.get("base_model", ""))
    if base.startswith(("models/", "./", "/")) and not Path(base).is_dir():
        problems.append(f"base_model: {base} not found; run `make model` "
                        "(or python -m tests.helpers.tiny for tests)")
    return problems


def resolve(req: RunRequest) -> tuple[dict[str, Any], Path, bool]:
    """Checked, overridden, data-pointed config; its run folder; whether to lift the CPU-bf16 check.
    Everything here is fast: no model is loaded and axolotl is imported only for its schema."""
    cfg = load_recipe(req.recipe)
    sets = list(req.sets) + ([f"max_steps={req.max_steps}"] if req.max_steps is not None else [])
    cfg = apply_overrides(cfg, sets)
    run_dir = choose_run_dir(req.recipe, req.run)
    cfg = point_at_data(cfg, req.data, run_dir)
    where = f"{req.recipe}" + (" (after --set)" if sets else "")
    machine = probe_machine()
    cfg = resolve_precision(cfg, machine)
    problems = recipe_problems(cfg, where) + hardware_problems(cfg, where, machine)
    problems += [f"{where}: {p}" for p in input_problems(cfg, req.data)]
    if problems:
        raise ConfigError(problems)
    return cfg, run_dir, needs_cpu_bf16(cfg, machine)



def config_sha256(cfg: dict[str, Any]) -> str:
    """The config as written to resolved.yml and read back, without the resume pointer itself."""
    plain = {k: v for k, v in yaml.safe_load(yaml.safe_dump(cfg)).items() if k != "resume_from_checkpoint"}
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()


def checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint-N/ folders, newest first (the trainer writes trainer_state.json last)."""
    done = [p.parent for p in run_dir.glob("checkpoint-*/trainer_state.json")
            if p.parent.name.rsplit("-", 1)[-1].isdigit()]
    return sorted(done, key=lambda p: int(p.name.rsplit("-", 1)[-1]), reverse=True)


def latest_checkpoint(run_dir: Path) -> Path | None:
    return next(iter(checkpoints(run_dir)), None)


def checkpoint_config(ckpt: Path) -> str | None:
    """The config hash the trainer stamped into a checkpoint; None for an unstamped one."""
    stamp = ckpt / CONFIG_STAMP
    return stamp.read_text("utf-8").strip() if stamp.is_file() else None


def resume_point(cfg: dict[str, Any], run_dir: Path, mode: str) -> Path | None:
    """The newest complete checkpoint stamped with this config's hash; newer ones of other configs are
    named and passed over (`yes` refuses instead of passing over the newest)."""
    found = [] if mode == "no" else checkpoints(run_dir)
    if not found:
        if mode == "yes":
            raise ConfigError([f"--resume yes: {run_dir} holds no complete checkpoint-N/; the trainer "
                               f"writes one every save_steps ({cfg.get('save_steps')}) steps"])
        return None
    want = config_sha256(cfg)
    for ckpt in found:
        stamp = checkpoint_config(ckpt)
        if stamp == want:
            return ckpt
        why = "has no config stamp" if stamp is None else f"was written under another config ({stamp[:12]})"
        if mode == "yes":
            raise ConfigError([f"--resume yes: {ckpt} {why}, not this config ({want[:12]}); pass --resume "
                               "no to start at step 0, or another --run"])
        print(f"not resuming from {ckpt}: it {why}, not this config ({want[:12]})", flush=True)
    print("no checkpoint of this config: starting at step 0", flush=True)
    return None


def write_resolved(cfg: dict[str, Any], run_dir: Path, req: RunRequest) -> Path:
    mark_output_folder(run_dir)
    path = run_dir / RESOLVED
    sets = " ".join(f"--set {s}" for s in req.sets)
    sets += f" --max-steps {req.max_steps}" if req.max_steps is not None else ""
    header = (f"# Resolved by python -m train from {req.recipe} --data {req.data} {sets}\n"
              "# This flat file is exactly what axolotl received.\n")
    path.write_text(header + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def axolotl_command(resolved: Path, cfg: dict[str, Any], cpu_bf16: bool) -> list[str]:
    """`axolotl train` through train.axolotl_cli. One process (--launcher python) unless the recipe
    shards over GPUs (fsdp_config / deepspeed): then `accelerate launch`, one rank per visible GPU."""
    sharded = bool(cfg.get("fsdp_config") or cfg.get("fsdp") or cfg.get("deepspeed"))
    flag = ["--allow-cpu-bf16"] if cpu_bf16 and not sharded else []
    launcher = "accelerate" if sharded else "python"
    return [sys.executable, "-m", "train.axolotl_cli", *flag, "train", str(resolved), "--launcher", launcher]


def axolotl_env() -> dict[str, str]:
    """Offline by default; a variable already set wins (e.g. HF_HUB_OFFLINE=0 to download a GPU
    recipe's base model), except usage tracking, which is always off."""
    env = dict(os.environ)
    for key, value in OFFLINE_ENV.items():
        env.setdefault(key, value)
    env["AXOLOTL_DO_NOT_TRACK"] = "1"
    # The accelerate launcher (and axolotl's own subprocesses) are looked up on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_axolotl(cmd: list[str], log_path: Path, append: bool = False, config_hash: str | None = None) -> int:
    """Stream axolotl's output (progress bars included) to the terminal and to train.log."""
    from train.axolotl_cli import CONFIG_ENV

    env = axolotl_env() | ({CONFIG_ENV: config_hash} if config_hash else {})
    with log_path.open("ab" if append else "wb") as log, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                      stderr=subprocess.STDOUT, env=env) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(4096):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            log.write(chunk)
        return proc.wait()


def train(req: RunRequest) -> Path:
    """Run one recipe end to end and return the run folder (raises ConfigError before heavy work)."""
    from train.run_card import write_run_card

    cfg, run_dir, cpu_bf16 = resolve(req)
    ckpt = resume_point(cfg, run_dir, req.resume)
    if ckpt is not None:  # axolotl passes it to the trainer: weights, optimizer (if saved), step, RNG
        cfg["resume_from_checkpoint"] = str(ckpt)
        print(f"resuming from {ckpt} (an interrupted run; --resume no starts at step 0)", flush=True)
    resolved = write_resolved(cfg, run_dir, req)
    cmd = axolotl_command(resolved, cfg, cpu_bf16)
    print(f"run folder: {run_dir}\n$ {' '.join(cmd)}", flush=True)
    start = time.time()
    rc = run_axolotl(cmd, run_dir / "train.log", append=ckpt is not None, config_hash=config_sha256(cfg))
    wall = time.time() - start
    if rc != 0:
        raise RuntimeError(f"axolotl train exited with status {rc}; see {run_dir / 'train.log'}")
    card = write_run_card(run_dir, req, cfg, wall, cpu_bf16, since=start)
    print(f"run card: {card}", flush=True)
    return run_dir
