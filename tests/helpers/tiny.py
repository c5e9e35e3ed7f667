"""A random-init tiny Llama with a BPE tokenizer trained on the chat data: the tests' base model.

Usage: python -m tests.helpers.tiny --data DIR --out models/tiny-llama [--vocab 1024] [--seed 0]

The tokenizer is byte-level BPE (any text encodes) trained on DIR/chat/train.jsonl, with ChatML's
special tokens, so `recipes/tiny-test.yml` exercises the same chat template, label masking and EOS
handling as the real recipes, on a model that trains in seconds on a CPU. Model shape and tokenizer
settings are arguments with defaults below; nothing here is a quality knob.

init_std is 0.2, not Llama's 0.02: LoRA leaves the tied embedding/lm_head frozen, and with 0.02
rows of norm ~0.16 the reachable logits stay within about +-1.3, so the loss cannot fall far below
ln(vocab) however long it trains. At 0.2 a LoRA run learns the JSON format in ~100 steps.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from schemas.config import ConfigError
from schemas.outputs import check_output_folder, mark_output_folder

TINY_MARK = (("config.json", '"architectures"'),)  # a model folder written before the marker existed

# ChatML: <|im_start|>role\ncontent<|im_end|>\n. <|im_end|> ends a turn and is the EOS.
CHATML_SPECIAL = {"pad": "<|endoftext|>", "bos": "<|im_start|>", "eos": "<|im_end|>"}


def chat_texts(data: Path) -> Iterator[str]:
    """Every message content and role name in DIR/chat/train.jsonl, for tokenizer training."""
    with (data / "chat" / "train.jsonl").open(encoding="utf-8") as f:
        for line in f:
            for msg in json.loads(line)["messages"]:
                yield f"{msg['role']}\n{msg['content']}"


def axolotl_template(name: str) -> str:
    """One of axolotl's bundled chat templates, read from its package without importing it."""
    spec = importlib.util.find_spec("axolotl")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("axolotl is not installed: run `make setup`")
    templates = Path(spec.submodule_search_locations[0]) / "utils" / "chat_templates" / "templates"
    return (templates / f"{name}.jinja").read_text(encoding="utf-8")


def build_tokenizer(texts: Iterator[str], vocab: int, special: dict[str, str], chat_template: str,
                    additional: tuple[str, ...] | list[str] = ()):
    """Byte-level BPE trained on `texts`, wrapped as a transformers fast tokenizer. `special` names the
    pad/bos/eos tokens; `additional` are other template tokens (e.g. Llama 3's header markers), each
    kept as one special token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = list(dict.fromkeys([*special.values(), *additional]))
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=special["bos"], eos_token=special["eos"],
                                   pad_token=special["pad"], unk_token=special["pad"])
    fast.chat_template = chat_template
    return fast


def build_model(tokenizer, hidden: int, layers: int, heads: int, kv_heads: int, max_len: int, seed: int,
                init_std: float):
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=max_len, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, initializer_range=init_std,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    return model


def make_tiny(data: Path, out: Path, vocab: int = 1024, hidden: int = 64, layers: int = 2,
              heads: int = 4, kv_heads: int = 2, max_len: int = 1024, seed: int = 0, init_std: float = 0.2,
              special: dict[str, str] | None = None, template: str = "chatml") -> Path:
    """Build and save tokenizer + model to `out`; returns `out`."""
    check_output_folder(out, TINY_MARK)
    special = special or CHATML_SPECIAL
    tokenizer = build_tokenizer(chat_texts(data), vocab, special, axolotl_template(template))
    model = build_model(tokenizer, hidden, layers, heads, kv_heads, max_len, seed, init_std)
    mark_output_folder(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="dataset folder with chat/train.jsonl")
    ap.add_argument("--out", type=Path, default=Path("models/tiny-llama"))
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        print(make_tiny(a.data, a.out, vocab=a.vocab, hidden=a.hidden, layers=a.layers, seed=a.seed))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
