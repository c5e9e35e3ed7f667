"""Can this machine train this recipe? Checked by `python -m train` only, never by `train.check`.

GPU recipes are valid recipes: `check` validates them anywhere. Training one on a machine without
CUDA would fail minutes later deep inside axolotl (an assert in a Triton kernel, a missing
flash_attn import), so `train` refuses up front, naming the key and what to do instead.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

# attn_implementation values that import the flash_attn package (axolotl's ATTN_IMPLS_USING_FLASH_LIB).
FLASH_LIB_IMPLS = {"flash_attention_2", "flash_attention_3", "kernels-community/flash-attn2",
                   "kernels-community/flash-attn3"}
LORA_KERNEL_KEYS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")
CPU_FIX = "train it on a CUDA machine, or use recipes/cpu-smollm2-135m-lora.yml here"


@dataclass(frozen=True)
class Machine:
    cuda: bool
    cpu_bf16: bool  # native bf16 matmuls on the CPU (avx512_bf16 / AMX)
    modules: frozenset[str]

    def has(self, module: str) -> bool:
        return module in self.modules


def probe_machine() -> Machine:
    import torch

    from decoding.precision import cpu_has_native_bf16

    cpu_bf16 = cpu_has_native_bf16()
    wanted = ("flash_attn", "bitsandbytes", "deepspeed")
    present = frozenset(m for m in wanted if importlib.util.find_spec(m) is not None)
    return Machine(cuda=torch.cuda.is_available(), cpu_bf16=cpu_bf16, modules=present)


def _attn_needs_flash(cfg: dict[str, Any]) -> str | None:
    if cfg.get("flash_attention") is True:
        return "flash_attention"
    if cfg.get("attn_implementation") in FLASH_LIB_IMPLS:
        return "attn_implementation"
    return None


def hardware_problems(cfg: dict[str, Any], where: str, machine: Machine) -> list[str]:
    """One line per key this machine cannot honour. `cfg` is the recipe after overrides."""
    problems: list[str] = []

    def refuse(key: str, need: str, fix: str) -> None:
        problems.append(f"{where}: {key}: {cfg.get(key)!r} needs {need}; {fix}")

    key = _attn_needs_flash(cfg)
    if key and not (machine.cuda and machine.has("flash_attn")):
        missing = "a CUDA GPU" if not machine.cuda else "the flash-attn package (pip install flash-attn)"
        refuse(key, f"flash-attn on a CUDA GPU and this machine lacks {missing}",
               "--set attn_implementation=sdpa" + (" or " + CPU_FIX if not machine.cuda else ""))
    if not machine.cuda:
        if cfg.get("fp16") is True:
            refuse("fp16", "a CUDA GPU (no fp16 autocast for training on CPU)",
                   "--set fp16=false, or " + CPU_FIX)
        if cfg.get("bf16") is True and not machine.cpu_bf16:
            refuse("bf16", "a CUDA GPU or a CPU with native bf16 (avx512_bf16/AMX)", "--set bf16=false")
        for quant in ("load_in_4bit", "load_in_8bit"):
            if cfg.get(quant) is True:
                refuse(quant, "bitsandbytes on a CUDA GPU", CPU_FIX)
        if "8bit" in str(cfg.get("optimizer") or "") or "bnb" in str(cfg.get("optimizer") or ""):
            refuse("optimizer", "bitsandbytes on a CUDA GPU", "--set optimizer=adamw_torch, or " + CPU_FIX)
        for k in lora_kernels_on(cfg):
            problems.append(f"{where}: {k}: {cfg.get(k)!r} turns on Triton LoRA kernels, which need a CUDA "
                            f"GPU (unset means on when no lora_*_kernel key is set); --set {k}=false")
        if cfg.get("bf16") == "auto" and cfg.get("fp16") is None:
            refuse("bf16", "a GPU: on CPU axolotl resolves 'auto' to fp16",
                   "--set bf16=false --set fp16=false")
        for key in ("deepspeed", "fsdp_config"):
            if cfg.get(key):
                refuse(key, "CUDA GPUs (multi-GPU sharding)", CPU_FIX)
    if cfg.get("deepspeed") and not machine.has("deepspeed"):
        refuse("deepspeed", "the deepspeed package", "pip install deepspeed (see pyproject's [gpu] extra)")
    quantised = cfg.get("load_in_4bit") or cfg.get("load_in_8bit")
    if quantised and machine.cuda and not machine.has("bitsandbytes"):
        refuse("load_in_4bit" if cfg.get("load_in_4bit") else "load_in_8bit", "the bitsandbytes package",
               "pip install bitsandbytes")
    return problems


def lora_kernels_on(cfg: dict[str, Any]) -> list[str]:
    """The Triton LoRA kernel keys that will be on, following axolotl's auto-enable rule: with an
    adapter and none of the four keys set, all four are switched on; once any is set, only True counts."""
    if cfg.get("adapter") not in ("lora", "qlora") or cfg.get("rl") or cfg.get("trust_remote_code"):
        return [k for k in LORA_KERNEL_KEYS if cfg.get(k) is True]
    if all(cfg.get(k) is None for k in LORA_KERNEL_KEYS):
        return list(LORA_KERNEL_KEYS)
    return [k for k in LORA_KERNEL_KEYS if cfg.get(k) is True]


def resolve_precision(cfg: dict[str, Any], machine: Machine) -> dict[str, Any]:
    """`bf16: auto` on a machine without CUDA -> true where the CPU has native bf16, else false (fp32).

    axolotl resolves 'auto' itself on a GPU, but on a CPU it picks fp16, which cannot train there; and a
    fixed `bf16: true` is ~60x slower on CPUs that emulate bf16. The resolved value is what the run's
    resolved config and run card record."""
    if machine.cuda or cfg.get("bf16") != "auto" or cfg.get("fp16"):
        return cfg
    return cfg | {"bf16": machine.cpu_bf16}


def needs_cpu_bf16(cfg: dict[str, Any], machine: Machine) -> bool:
    """True when the run must lift transformers' bf16-needs-a-GPU check (see train.axolotl_cli)."""
    return cfg.get("bf16") is True and not machine.cuda and machine.cpu_bf16
