"""The llama.cpp build `make setup-server` installs runs on any x86-64 CPU of the last decade.

A default (native) build compiles llama.cpp's AMX path on Intel CPUs that have AMX, and that path crashes
on the first decode there; scripts/build_llama_cpp.sh builds for AVX2 with no AVX-512 or AMX variant.
Everything that touches llama.cpp runs in a child process, so a crash fails one test, not the session.
"""

from __future__ import annotations

import platform
import re
import signal
import subprocess
import sys

import pytest

from basemodel.smollm2 import packaged_gguf

PROBE = """
import sys, llama_cpp
from llama_cpp import Llama
print(llama_cpp.llama_print_system_info().decode().strip(), flush=True)
llm = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"play Inception"))
print("decoded", flush=True)
"""


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    if proc.returncode < 0:
        pytest.fail(f"llama.cpp crashed in the child process ({signal.Signals(-proc.returncode).name}):\n"
                    f"{proc.stdout}{proc.stderr[-2000:]}", pytrace=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def features(info: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"([A-Z0-9_]+) = (\d)", info)}


def test_the_installed_build_has_no_native_only_cpu_path() -> None:
    info = run_child(PROBE.split("llm =")[0]).stdout
    found = features(info)
    on = sorted(k for k, v in found.items() if v and (k.startswith(("AMX", "AVX512")) or k == "AVX_VNNI"))
    assert not on, f"llama.cpp was built with CPU paths not every x86-64 CPU has: {on} ({info.strip()})"
    if platform.machine() in ("x86_64", "AMD64"):
        assert found.get("AVX2") == 1 and found.get("FMA") == 1, info


def test_the_base_model_decodes_in_a_child_process() -> None:
    assert run_child(PROBE, str(packaged_gguf())).stdout.strip().endswith("decoded")


def test_a_crash_in_the_child_is_reported_as_one_failure_not_the_end_of_the_session() -> None:
    with pytest.raises(pytest.fail.Exception, match="crashed in the child process \\(SIGSEGV\\)"):
        run_child("import ctypes; ctypes.string_at(0)")
