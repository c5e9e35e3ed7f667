"""Shared fixtures: real servers on 127.0.0.1 (see tests/servers.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from servers import FaultServer, LlamaServer, run_llama_server


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server on the SmolLM2-135M GGUF, one per test session.

    Fails (never skips) when llama_cpp is missing: CI installs it, so a skip would hide a broken setup.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama_cpp is not importable: run `make setup-server` "
                    "(pip install 'llama-cpp-python[server]==0.3.36')", pytrace=False)
    from basemodel.smollm2 import packaged_gguf

    with run_llama_server(packaged_gguf(), tmp_path_factory.mktemp("llama_server")) as server:
        yield server


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A scripted chat-completions server (429/5xx/malformed/slow) that records every request."""
    server = FaultServer().start()
    try:
        yield server
    finally:
        server.stop()
