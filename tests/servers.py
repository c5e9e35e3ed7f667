"""Real HTTP servers on 127.0.0.1 for tests: llama.cpp's OpenAI-compatible server and a scripted fault server.

Both are plain processes/threads on a free port, so tests exercise the real network stack, not mocks.
Reused through fixtures in tests/conftest.py (`llama_server`, `fault_server`).
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A port nobody listens on right now (the small race until the server binds is acceptable in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- llama.cpp server -------------------------------------------------------------------------------

@dataclass
class LlamaServer:
    base_url: str      # ends in /v1, ready for openai.AsyncOpenAI(base_url=...)
    model: str         # the alias requests should name
    process: subprocess.Popen
    log_path: Path

    def completions_served(self) -> int:
        """Chat completions answered so far, counted from the server's access log."""
        return self.log_path.read_text(errors="replace").count('"POST /v1/chat/completions HTTP')


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"llama_cpp.server exited with code {proc.returncode} before ready:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"llama_cpp.server not ready at {url} after {timeout_s:.0f} s (log: {log_path})")


def _warm_up(base_url: str, alias: str, timeout_s: float) -> None:
    # The first completion with a full prompt batch takes ~20 s (weights paged in, buffers sized) where
    # the next take ~2 s; paying it here keeps the tests' own timings honest.
    prompt = "Say hi. " * 200  # ~500 tokens, like a real synth prompt
    body = json.dumps({"model": alias, "max_tokens": 1, "messages": [{"role": "user", "content": prompt}]})
    req = urllib.request.Request(f"{base_url}/chat/completions", body.encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        resp.read()


@contextmanager
def run_llama_server(gguf: Path, log_dir: Path, *, n_ctx: int = 2048, alias: str = "smollm2",
                 ready_timeout_s: float = 120.0) -> Iterator[LlamaServer]:
    """Run `python -m llama_cpp.server` on a free port for the duration of the block."""
    port = free_port()
    log_path = log_dir / f"llama_server_{port}.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    with log_path.open("wb") as log:
        # Unbuffered, so the access log (completions_served) is current.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_ready(f"http://127.0.0.1:{port}/v1/models", proc, log_path, ready_timeout_s)
        base_url = f"http://127.0.0.1:{port}/v1"
        _warm_up(base_url, alias, ready_timeout_s)
        yield LlamaServer(base_url, alias, proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- scripted fault server ----------------------------------------------------------------------------

# A step says how to answer one request: ("ok",), ("status", code, headers[, message chars]), ("malformed",),
# ("slow", seconds) then ok, ("content", text), and the endpoint misbehaving within HTTP:
#   ("raw", body)             a 200 whose body is `body` as given (str or bytes): shapes no API returns
#   ("drip", seconds)         an ok answer sent a few bytes at a time, spread over `seconds`
#   ("huge", chars, framing)  an ok answer whose content is `chars` long; framing "length" declares
#                             Content-Length, "close" ends the body by closing the connection, "gzip"
#                             sends it gzip-compressed (a few KB on the wire)
# Requests beyond the script get `default`.
# On "ok", `answer(body)` gives the content, or a step of its own (to fault by request content).
Step = tuple[Any, ...]


def chat_completion(content: str, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


@dataclass
class FaultServer:
    """A chat-completions endpoint that follows a script of faults, recording every request it sees."""

    answer: Callable[[dict[str, Any]], str | Step] = lambda body: '{"query":"ok","entities":[]}'
    usage: tuple[int, int] = (10, 5)            # prompt, completion tokens reported per answer
    script: list[Step] = field(default_factory=list)
    default: Step = ("ok",)
    requests: list[dict[str, Any]] = field(default_factory=list)   # {"headers", "body", "at"}
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def set_script(self, steps: list[Step], default: Step = ("ok",)) -> None:
        with self._lock:
            self.script, self.default = list(steps), default

    def _next_step(self, headers: dict[str, str], body: dict[str, Any]) -> Step:
        with self._lock:
            self.requests.append({"headers": headers, "body": body, "at": time.monotonic()})
            return self.script.pop(0) if self.script else self.default

    def start(self) -> FaultServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _send(self, code: int, payload: bytes, headers: dict[str, str] | None = None,
                      declare_length: bool = True) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                if declare_length:
                    self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def _drip(self, payload: bytes, seconds: float) -> None:
                # Each piece comes well inside any read timeout, so only a total deadline ends it.
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                pieces = max(1, int(seconds / 0.1))
                size = -(-len(payload) // pieces)
                for i in range(0, len(payload), size):
                    self.wfile.write(payload[i:i + size])
                    self.wfile.flush()
                    time.sleep(seconds / pieces)

            def _huge(self, body: dict[str, Any], chars: int, framing: str) -> None:
                reply = chat_completion("x" * chars, body.get("model", "test"), *server.usage)
                payload = json.dumps(reply).encode()
                if framing == "gzip":
                    return self._send(200, gzip.compress(payload), {"Content-Encoding": "gzip"})
                self._send(200, payload, declare_length=framing == "length")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"{}")
                step = server._next_step(dict(self.headers.items()), body)
                try:
                    self._answer(step, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def _answer(self, step: Step, body: dict[str, Any]) -> None:
                kind = step[0]
                if kind == "status":
                    code, headers = step[1], (step[2] if len(step) > 2 else {})
                    message = f"scripted {code}" + ("!" * step[3] if len(step) > 3 else "")
                    err = {"error": {"message": message, "type": "test", "code": code}}
                    return self._send(code, json.dumps(err).encode(), headers)
                if kind == "malformed":
                    return self._send(200, b'{"id": "chatcmpl-broken", "choices": [')
                if kind == "raw":
                    return self._send(200, step[1] if isinstance(step[1], bytes) else step[1].encode())
                if kind == "huge":
                    return self._huge(body, step[1], step[2] if len(step) > 2 else "length")
                if kind == "slow":
                    time.sleep(step[1])
                content = step[1] if kind == "content" else server.answer(body)
                if isinstance(content, tuple):
                    return self._answer(content, body)
                reply = chat_completion(content, body.get("model", "test"), *server.usage)
                if kind == "drip":
                    return self._drip(json.dumps(reply).encode(), step[1])
                self._send(200, json.dumps(reply).encode())

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
