"""Load an exported run in llama.cpp and parse one query under the extraction JSON schema.

Usage: python -m export.gguf_check runs/x/gguf/gguf.json ["who directed Parasite"]

Prints one JSON line: llama.cpp's CPU features, how far the adapter moves the base model's logits, and
the greedy answer to the query. `check_export` runs this in a child process, because a llama.cpp build
that takes a broken CPU path (the AMX path on some Intel CPUs) dies with SIGSEGV instead of raising:
in a child that is one clear error, not a dead caller.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas import ConfigError, extraction_schema, load_taxonomy

QUERY = "who directed Parasite"


def _chatml(messages: list[dict[str, str]]) -> str:
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def _greedy(llm: Any, prompt: list[int], grammar: Any, max_tokens: int) -> list[int]:
    out: list[int] = []
    for tok in llm.generate(prompt, temp=0.0, top_k=1, grammar=grammar):
        if tok == llm.token_eos() or len(out) >= max_tokens:
            break
        out.append(tok)
    return out


def probe(manifest_path: Path, query: str = QUERY) -> dict[str, Any]:
    """The probe itself, in this process: import llama_cpp, load base and base + adapter, decode."""
    import llama_cpp
    from llama_cpp import Llama, LlamaGrammar

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    kw = {"n_ctx": 512, "n_threads": 1, "verbose": False, "logits_all": True}
    base = Llama(model_path=manifest["base_gguf"], **kw)
    tuned = Llama(model_path=manifest["base_gguf"], lora_path=manifest["adapter_gguf"], **kw)
    ids = base.tokenize(b"play Inception")
    base.eval(ids)
    tuned.eval(ids)
    delta = float(abs(base.scores[len(ids) - 1] - tuned.scores[len(ids) - 1]).max())
    schema = extraction_schema(load_taxonomy(), max_value_chars=16, max_entities=1)
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    system = manifest.get("system_prompt")
    messages = [{"role": "system", "content": system}] if system else []  # as the run was trained
    messages.append({"role": "user", "content": query})
    prompt = tuned.tokenize(_chatml(messages).encode(), special=True)
    tokens = _greedy(tuned, prompt, grammar, 96)
    text = "".join(tuned.detokenize([t]).decode(errors="replace") for t in tokens)
    return {"system_info": llama_cpp.llama_print_system_info().decode().strip(), "adapter_logit_delta": delta,
            "query": query, "text": text}


def check_export(manifest_path: Path, query: str = QUERY, timeout_s: float = 300) -> dict[str, Any]:
    """`probe` in a child process; a crash or hang is a one-line ConfigError naming the signal."""
    cmd = [sys.executable, "-m", "export.gguf_check", str(manifest_path), query]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ConfigError([f"{manifest_path}: llama.cpp did not answer within {timeout_s:.0f} s"]) from None
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise ConfigError([f"{manifest_path}: llama.cpp crashed ({name}) loading the export; its build may "
                           "take a CPU path this machine cannot run: rebuild it with `make setup-server` "
                           "(portable target)"])
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError([f"{manifest_path}: llama.cpp check failed: {tail}"])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        raise SystemExit(2)
    print(json.dumps(probe(Path(args[0]), *(args[1:2] or [QUERY])), ensure_ascii=False))


if __name__ == "__main__":
    main()
