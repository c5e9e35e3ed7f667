"""GPU recipes are valid recipes, but `python -m train` refuses them without CUDA, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from train.__main__ import main
from train.hardware import Machine, hardware_problems, lora_kernels_on, resolve_precision

CPU_ONLY = Machine(cuda=False, cpu_bf16=False, modules=frozenset())
CPU_BF16 = Machine(cuda=False, cpu_bf16=True, modules=frozenset())
GPU = Machine(cuda=True, cpu_bf16=False, modules=frozenset({"flash_attn", "bitsandbytes"}))


def _recipe(name: str) -> dict:
    return yaml.safe_load(Path("recipes", name).read_text())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_train_refuses_gpu_recipe_on_cpu(chat_data: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "never"
    rc = main(["--recipe", "recipes/llama-3.2-3b-lora.yml", "--data", str(chat_data), "--run", str(run)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert not run.exists(), "nothing may be written before the checks pass"
    attn = [line for line in err if ": attn_implementation: 'flash_attention_2' needs flash-attn" in line]
    assert len(attn) == 1 and "--set attn_implementation=sdpa" in attn[0]
    kernels = [line for line in err if "lora_mlp_kernel: True turns on Triton LoRA kernels" in line]
    assert len(kernels) == 1 and "--set lora_mlp_kernel=false" in kernels[0]
    assert all(line.startswith("recipes/llama-3.2-3b-lora.yml: ") for line in err)


def test_qlora_recipe_names_every_cuda_only_key() -> None:
    problems = "\n".join(hardware_problems(_recipe("llama-3.1-8b-qlora.yml"), "r.yml", CPU_ONLY))
    for key in ("attn_implementation", "bf16", "load_in_4bit", "optimizer", "lora_qkv_kernel"):
        assert f"r.yml: {key}: " in problems, key


def test_fsdp_recipe_needs_gpus() -> None:
    assert any(p.startswith("r.yml: fsdp_config: ") for p in
               hardware_problems(_recipe("llama-3.1-8b-lora-fsdp.yml"), "r.yml", CPU_ONLY))


def test_cpu_recipe_runs_on_any_machine_in_the_precision_it_has() -> None:
    cfg = _recipe("cpu-smollm2-135m-lora.yml")
    assert cfg["bf16"] == "auto"
    assert resolve_precision(cfg, CPU_BF16)["bf16"] is True
    assert resolve_precision(cfg, CPU_ONLY)["bf16"] is False  # emulated bf16 would be ~60x slower
    assert resolve_precision(cfg, GPU)["bf16"] == "auto"      # axolotl resolves it on a GPU
    for machine in (CPU_BF16, CPU_ONLY, GPU):
        assert hardware_problems(resolve_precision(cfg, machine), "r.yml", machine) == [], machine


def test_explicit_bf16_still_needs_native_support() -> None:
    cfg = _recipe("cpu-smollm2-135m-lora.yml") | {"bf16": True}
    assert resolve_precision(cfg, CPU_ONLY)["bf16"] is True
    assert [p.split(": ")[1] for p in hardware_problems(cfg, "r.yml", CPU_ONLY)] == ["bf16"]
    assert hardware_problems(cfg, "r.yml", CPU_BF16) == []


def test_gpu_recipes_pass_on_a_gpu_machine() -> None:
    for name in ("llama-3.2-3b-lora.yml", "llama-3.2-3b-qlora.yml", "qwen2.5-1.5b-instruct-lora.yml"):
        assert hardware_problems(_recipe(name), name, GPU) == [], name


def test_lora_kernel_auto_enable_rule() -> None:
    assert lora_kernels_on({"adapter": "lora"}) == [
        "lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel"]
    assert lora_kernels_on({"adapter": "lora", "lora_mlp_kernel": False}) == []
    assert lora_kernels_on({"adapter": "qlora", "lora_o_kernel": True}) == ["lora_o_kernel"]
    assert lora_kernels_on({}) == []
