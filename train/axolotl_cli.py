"""`axolotl` command line, run in this process, with one explicit opt-in override: bf16 on CPU.

Usage: python -m train.axolotl_cli [--allow-cpu-bf16] train resolved.yml --launcher python

With MEDIA_INTENT_CONFIG_SHA256 set (python -m train sets it), every checkpoint the trainer saves gets a
`config.sha256` file holding it, so a later resume can tell which config wrote a checkpoint
(train.run.resume_point); this is a callback added to transformers' default callbacks, not a patch.

Everything after the optional flag goes to axolotl's own CLI unchanged (`axolotl.cli.main`).

Why the override: transformers' TrainingArguments raises "Your setup doesn't support bf16/gpu"
whenever `bf16=True` and no GPU is found, although CPUs with avx512_bf16/AMX run bf16 autocast
natively (measured here: bf16 LoRA steps ~1.6x faster than fp32, near-identical loss). axolotl has
no key for TrainingArguments(use_cpu=True), the other way past that check. `--allow-cpu-bf16`
makes transformers' GPU-bf16 probe answer True inside this process only; nothing is patched on
disk and a run without the flag is plain axolotl. `python -m train` passes the flag only when the
recipe asks for `bf16: true`, the machine has no CUDA and the CPU has native bf16
(train.hardware.needs_cpu_bf16), and prints the command it ran.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FLAG = "--allow-cpu-bf16"
CONFIG_ENV = "MEDIA_INTENT_CONFIG_SHA256"  # train.run sets it to the resolved config's hash


def allow_cpu_bf16() -> None:
    import transformers.training_args as training_args

    # TrainingArguments.__post_init__ looks this name up in its module at call time.
    training_args.is_torch_bf16_gpu_available = lambda: True


def stamp_checkpoints(config_hash: str) -> None:
    """Write `config_hash` into each checkpoint-N/ right after the trainer saves it."""
    import transformers.trainer as trainer
    from transformers import TrainerCallback

    from train.run import CONFIG_STAMP

    class ConfigStamp(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir() and state.is_world_process_zero:
                (ckpt / CONFIG_STAMP).write_text(config_hash + "\n", encoding="utf-8")

    trainer.DEFAULT_CALLBACKS.append(ConfigStamp)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [FLAG]:
        args = args[1:]
        allow_cpu_bf16()
    if os.environ.get(CONFIG_ENV):
        stamp_checkpoints(os.environ[CONFIG_ENV])
    from axolotl.cli.main import cli

    cli.main(args=args, prog_name="axolotl")


if __name__ == "__main__":
    main()
