"""GPU throughput check for recipes/llama-3.2-3b-lora.yml on a random-init Llama-3.2-3B.

Usage (scripts/gpu_check.sh runs these):
  python3 scripts/gpu_check.py bench [--steps 10] [--warmup 3] [--out FILE.json]
  python3 scripts/gpu_check.py axolotl --data DIR --work DIR [--steps 30]
  python3 scripts/gpu_check.py bench --smoke      (CPU, tiny shapes: checks the code path only)

`bench` needs only torch, transformers, peft and pyyaml (all in the GPU image). It builds the model
from scripts/llama-3.2-3b-config.json (the published config: hidden 3072, 28 layers, 24 heads, 8 KV
heads, vocab 128256, llama3 rope scaling) with random weights directly on the GPU in bf16, applies
the recipe's LoRA (rank, alpha, dropout, all linear layers), optimizer, learning rate, micro batch,
sequence_len and gradient checkpointing, packs synthetic chat-length documents into sequence_len
rows, and times training steps. Attention, first that works:
  flash_attention_2 (flash-attn package) | torch varlen_attn (PyTorch's flash kernel, cu_seqlens)
  | SDPA with an explicit block-diagonal causal mask (correct, but not a flash kernel).
Each packed document attends only to itself in all three (transformers 5's SDPA path does not
isolate packed documents from position_ids alone, hence the explicit mask).
Prints tokens/s, peak GPU memory and MFU:
  mfu_6n   the usual convention, 6 x linear params x tokens (+ attention), / peak bf16 FLOP/s
  hfu_lora what LoRA really computes: no weight gradients for frozen layers (4N, +2N recompute).
`axolotl` runs the same recipe through `python -m train` on the saved random model (if axolotl is
importable), proving the recipe itself trains on this GPU.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIG = HERE / "llama-3.2-3b-config.json"
RECIPE = REPO / "recipes" / "llama-3.2-3b-lora.yml"
# Dense bf16 peak (no sparsity), FLOP/s. Override with PEAK_TFLOPS=... for other cards.
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "H800": 989e12, "A100": 312e12}


def peak_flops(name: str) -> float | None:
    if os.environ.get("PEAK_TFLOPS"):
        return float(os.environ["PEAK_TFLOPS"]) * 1e12
    for key in sorted(PEAK_BF16, key=len, reverse=True):
        if all(part in name for part in key.split()):
            return PEAK_BF16[key]
    return None


def gib(n_bytes: int) -> float:
    return round(n_bytes / 2**30, 2)


def recipe_settings(path: Path = RECIPE) -> dict:
    cfg = yaml.safe_load(path.read_text())
    keys = ("lora_r", "lora_alpha", "lora_dropout", "sequence_len", "micro_batch_size", "learning_rate",
            "optimizer", "gradient_checkpointing", "weight_decay")
    return {k: cfg.get(k) for k in keys}


# ---- packing ---------------------------------------------------------------------------------
def pack_rows(rows: int, seq_len: int, doc_len: tuple[int, int], vocab: int, rng: random.Random) -> dict:
    """Rows of back-to-back documents; the tail of a row is one padding segment (labels -100).
    `segments` (documents and padding, in order) drive the attention; `docs` are the real documents."""
    import torch

    ids, pos, labels, segments, docs = [], [], [], [], []
    for _ in range(rows):
        row_ids, row_pos, row_lab = [], [], []
        while True:
            n = rng.randint(*doc_len)
            if len(row_ids) + n > seq_len:
                break
            toks = [rng.randrange(vocab) for _ in range(n)]
            row_ids += toks
            row_pos += list(range(n))
            row_lab += [-100] * (n // 2) + toks[n // 2:]  # prompt half masked, like a chat example
            segments.append(n)
            docs.append(n)
        pad = seq_len - len(row_ids)
        if pad:
            row_ids += [0] * pad
            row_pos += list(range(pad))
            row_lab += [-100] * pad
            segments.append(pad)
        ids.append(row_ids)
        pos.append(row_pos)
        labels.append(row_lab)
    cu = [0]
    for n in segments:
        cu.append(cu[-1] + n)
    return {"input_ids": torch.tensor(ids), "position_ids": torch.tensor(pos), "labels": torch.tensor(labels),
            "cu_seqlens": torch.tensor(cu, dtype=torch.int32), "segments": segments, "docs": docs}


# ---- attention backends ----------------------------------------------------------------------
def _varlen_call(q, k, v, cu, max_len: int, scale: float):
    """torch.nn.attention.varlen.varlen_attn across torch versions (is_causal vs window_size, GQA)."""
    from torch.nn.attention.varlen import varlen_attn

    params = inspect.signature(varlen_attn).parameters
    kwargs = {}
    if "is_causal" in params:
        kwargs["is_causal"] = True
    elif "window_size" in params:
        kwargs["window_size"] = (-1, 0)
    if "scale" in params:
        kwargs["scale"] = scale
    if k.shape[1] != q.shape[1]:
        if "enable_gqa" in params:
            kwargs["enable_gqa"] = True
        else:
            rep = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    return varlen_attn(q, k, v, cu, cu, max_len, max_len, **kwargs)


def block_causal_mask(lengths: list[int], rows: int, seq_len: int):
    """(rows, 1, seq, seq) bool mask: causal within each document, nothing across documents."""
    import torch

    doc = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths)).view(rows, seq_len)
    same = doc[:, :, None] == doc[:, None, :]
    causal = torch.ones(seq_len, seq_len, dtype=torch.bool).tril()
    return (same & causal)[:, None]


def varlen_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """transformers attention function: (b, h, s, d) in, (b, s, h, d) out, documents from cu_seqlens."""
    b, hq, s, d = query.shape
    q = query.transpose(1, 2).reshape(b * s, hq, d)
    k = key.transpose(1, 2).reshape(b * s, key.shape[1], d)
    v = value.transpose(1, 2).reshape(b * s, value.shape[1], d)
    scale = scaling if scaling is not None else 1.0 / math.sqrt(d)
    out = _varlen_call(q, k, v, kwargs["varlen_cu_seqlens"], kwargs["varlen_max_len"], scale)
    return out.reshape(b, s, hq, d), None


def varlen_works(device: str) -> bool:
    """varlen_attn must match per-document causal SDPA on a small GQA input before it is trusted."""
    import torch
    import torch.nn.functional as F

    if device != "cuda":
        return False
    try:
        torch.manual_seed(0)
        lens = [5, 11]
        q = torch.randn(sum(lens), 4, 64, device=device, dtype=torch.bfloat16)
        k = torch.randn(sum(lens), 2, 64, device=device, dtype=torch.bfloat16)
        v = torch.randn_like(k)
        cu = torch.tensor([0, 5, 16], device=device, dtype=torch.int32)
        got = _varlen_call(q, k, v, cu, max(lens), 0.125)
        ref = []
        for a, z in ((0, 5), (5, 16)):
            qq, kk, vv = (t[a:z].transpose(0, 1) for t in (q, k, v))
            kk, vv = kk.repeat_interleave(2, 0), vv.repeat_interleave(2, 0)
            out = F.scaled_dot_product_attention(qq, kk, vv, is_causal=True, scale=0.125)
            ref.append(out.transpose(0, 1))
        return bool((got - torch.cat(ref)).abs().max() < 3e-2)
    except Exception as exc:  # any failure means: use the next backend
        print(f"varlen_attn unavailable: {type(exc).__name__}: {exc}", flush=True)
        return False


def choose_attention(device: str) -> str:
    import importlib.util

    if device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    if varlen_works(device):
        from transformers import AttentionInterface

        AttentionInterface.register("torch_varlen", varlen_attention)
        return "torch_varlen"
    return "sdpa"


# ---- model -----------------------------------------------------------------------------------
def build_model(attn: str, device: str, smoke: bool):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    raw = json.loads(CONFIG.read_text())
    if smoke:  # CPU code-path check: same architecture, toy sizes
        raw.update(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=32, vocab_size=512)
    config = LlamaConfig(**raw)
    config._attn_implementation = attn
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    return model.to(torch.bfloat16), config


def linear_params(model) -> int:
    import torch

    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def attention_fwd_flops(lengths: list[int], config) -> float:
    """QK^T and PV over each causal document, all layers (padding 'documents' excluded by caller)."""
    width = config.num_attention_heads * config.head_dim
    return sum(2 * 2 * n * n / 2 * width for n in lengths) * config.num_hidden_layers


def bench(args: argparse.Namespace) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model

    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device visible to torch")
    s = recipe_settings()
    seq_len, batch = (256, 2) if args.smoke else (int(s["sequence_len"]), int(s["micro_batch_size"]))
    attn = choose_attention(device)
    t0 = time.perf_counter()
    model, config = build_model(attn, device, args.smoke)
    n_linear = linear_params(model)
    model = get_peft_model(model, LoraConfig(r=s["lora_r"], lora_alpha=s["lora_alpha"],
                                             lora_dropout=s["lora_dropout"], target_modules="all-linear",
                                             task_type="CAUSAL_LM"))
    model.train()
    if s["gradient_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    fused = device == "cuda" and "fused" in str(s["optimizer"])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=float(s["learning_rate"]),
                            weight_decay=float(s["weight_decay"] or 0.0), fused=fused)
    build_s = time.perf_counter() - t0
    rng = random.Random(0)
    doc_len = (args.doc_min, args.doc_max)
    batches = [pack_rows(batch, seq_len, doc_len, config.vocab_size, rng) for _ in range(4)]

    def step(i: int):
        b = batches[i % len(batches)]
        extra = {}
        if attn == "torch_varlen":
            extra = {"varlen_cu_seqlens": b["cu_seqlens"].to(device), "varlen_max_len": max(b["segments"])}
        elif attn == "sdpa":
            extra = {"attention_mask": block_causal_mask(b["segments"], batch, seq_len).to(device)}
        with torch.autocast(device_type=device, dtype=torch.bfloat16):  # as the Trainer does for bf16: true
            loss = model(input_ids=b["input_ids"].to(device), position_ids=b["position_ids"].to(device),
                         labels=b["labels"].to(device), **extra).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss, b["docs"]

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for i in range(args.warmup):
        step(i)
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    docs: list[int] = []
    start = time.perf_counter()
    for i in range(args.steps):
        loss, step_docs = step(i)
        docs += step_docs
    sync()
    elapsed = time.perf_counter() - start
    real_tokens = sum(docs)
    recompute = bool(s["gradient_checkpointing"])
    attn_fwd = attention_fwd_flops(docs, config)
    flops_6n = 6 * n_linear * real_tokens + 3 * attn_fwd
    flops_lora = (4 + 2 * recompute) * n_linear * real_tokens + (3 + recompute) * attn_fwd
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    peak = peak_flops(name) if device == "cuda" else None
    result = {
        "device": name, "attention": attn, "recipe": str(RECIPE.relative_to(REPO)),
        "sequence_len": seq_len, "micro_batch_size": batch, "lora_r": s["lora_r"],
        "gradient_checkpointing": recompute, "steps_timed": args.steps,
        "build_s": round(build_s, 1), "seconds_per_step": round(elapsed / args.steps, 4),
        "tokens_per_s": round(real_tokens / elapsed, 1),
        "padded_tokens_per_s": round(args.steps * batch * seq_len / elapsed, 1),
        "mean_doc_len": round(sum(docs) / max(1, len(docs)), 1),
        "linear_params": n_linear, "final_loss": round(float(loss.detach()), 4),
        "peak_mem_allocated_gib": gib(torch.cuda.max_memory_allocated()) if device == "cuda" else None,
        "peak_mem_reserved_gib": gib(torch.cuda.max_memory_reserved()) if device == "cuda" else None,
        "peak_bf16_tflops": peak and peak / 1e12,
        "mfu_6n": peak and round(flops_6n / elapsed / peak, 4),
        "hfu_lora": peak and round(flops_lora / elapsed / peak, 4),
    }
    print(json.dumps(result, indent=2), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return result


# ---- the recipe through axolotl --------------------------------------------------------------
def axolotl_run(args: argparse.Namespace) -> int:
    """Save the random 3B, give it a Llama-3-special-token tokenizer trained on the chat data, and run
    `python -m train` on the 3B LoRA recipe for a fixed number of steps."""
    import importlib.util

    import torch

    sys.path.insert(0, str(REPO))
    from tests.helpers.tiny import axolotl_template, build_tokenizer, chat_texts

    work = Path(args.work)
    model_dir = work / "llama-3.2-3b-random"
    if not (model_dir / "config.json").is_file():
        model, _ = build_model("sdpa", "cuda", smoke=False)
        special = {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "pad": "<|finetune_right_pad_id|>"}
        tok = build_tokenizer(chat_texts(Path(args.data)), 4096, special, axolotl_template("llama3"),
                              additional=["<|start_header_id|>", "<|end_header_id|>"])
        model.save_pretrained(model_dir)
        tok.save_pretrained(model_dir)
        del model
        torch.cuda.empty_cache()
    sets = [f"base_model={model_dir}", f"max_steps={args.steps}", "eval_steps=100000", "save_steps=100000"]
    if importlib.util.find_spec("flash_attn") is None:
        # sdpa + packing: axolotl routes packed rows through torch varlen_attn (sdpa_varlen, auto).
        sets.append("attn_implementation=sdpa")
    cmd = [sys.executable, "-m", "train", "--recipe", str(RECIPE.relative_to(REPO)), "--data", args.data,
           "--run", str(work / "run")] + [x for s in sets for x in ("--set", s)]
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=REPO)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--doc-min", type=int, default=60, help="tokens per packed document (chat example)")
    b.add_argument("--doc-max", type=int, default=110)
    b.add_argument("--out", default=None)
    b.add_argument("--smoke", action="store_true", help="tiny shapes on CPU: code path only")
    a = sub.add_parser("axolotl")
    a.add_argument("--data", required=True)
    a.add_argument("--work", required=True)
    a.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    if args.cmd == "bench":
        bench(args)
    else:
        sys.exit(axolotl_run(args))


if __name__ == "__main__":
    main()
