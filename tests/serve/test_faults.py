"""A second real `python -m serve` with SERVE_API_KEY set and a 2 s request timeout: the decode deadline
(504, and the decode stops between steps), bearer-token auth, and the refusal to listen beyond loopback
without a key."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from client import call
from conftest import API_KEY, REPO, Service, service_config

from serve.__main__ import is_loopback

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def health(service: Service) -> dict:
    return call(service.url, "/healthz", method="GET").json


def test_a_decode_past_its_deadline_answers_504_and_stops(strict_service: Service) -> None:
    """No decode had a timeout: one slow batch held every request behind it, for as long as it took."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    slow = [" ".join(words[(i + k) % 8] + str(k % (i + 2)) for k in range(60)) for i in range(16)]
    answer = call(strict_service.url, body={"queries": slow}, headers=AUTH)
    assert answer.status == 504 and answer.json == {"detail": "no answer within 2 s; retry later or with "
                                                              "fewer queries"}
    assert answer.seconds < 5
    deadline = time.monotonic() + 15
    while health(strict_service)["deadline_stops"] < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    state = health(strict_service)
    assert state["deadline_stops"] >= 1 and state["worker"] == "alive" and state["queue_depth"] == 0
    assert call(strict_service.url, body={"query": "play Dune"}, headers=AUTH).status == 200


def test_every_v1_request_needs_the_key_when_one_is_set(strict_service: Service) -> None:
    url = strict_service.url
    missing = call(url, body={"query": "play Dune"})
    assert missing.status == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json == {"detail": "missing or wrong API key: send Authorization: Bearer <SERVE_API_KEY>"}
    assert call(url, body={"query": "play Dune"}, headers={"Authorization": "Bearer nope"}).status == 401
    assert call(url, body={"query": "play Dune"}, headers={"Authorization": API_KEY}).status == 401  # no scheme
    assert call(url, "/v1/search", {"query": "play Dune"}).status == 401
    assert call(url, body=b"0" * 400_000).status == 401  # the key is checked before the body is read
    assert call(url, body={"query": "play Dune"}, headers={"Authorization": f"bearer {API_KEY}"}).status == 200
    # Health, page and docs stay open; the schema tells clients how to authenticate.
    assert call(url, "/healthz", method="GET").status == 200 and call(url, "/", method="GET").status == 200
    spec = call(url, "/openapi.json", method="GET").json
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/parse"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/healthz"]["get"]


def serve(args: list[str], key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SERVE_API_KEY"}
    if key is not None:
        env["SERVE_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "serve", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)


def test_listening_beyond_loopback_needs_a_key_or_explicit_consent(tmp_path: Path) -> None:
    """Before any model loads: 0.0.0.0 without SERVE_API_KEY is refused in one line, exit 2."""
    proc = serve(["--run", str(tmp_path), "--host", "0.0.0.0"])
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: host 0.0.0.0 is reachable beyond this machine and SERVE_API_KEY is not set; set SERVE_API_KEY, "
        f"or allow_unauthenticated_remote: true in {REPO / 'serve/config.yml'}, or use 127.0.0.1")
    # With a key, or with the config's consent, it goes on to the next check (the run folder).
    for args, key in ((["--host", "0.0.0.0"], "k"),
                      (["--host", "0.0.0.0", "--config",
                        str(service_config(tmp_path / "open.yml", allow_unauthenticated_remote="true"))], None)):
        proc = serve(["--run", str(tmp_path / "none"), *args], key)
        assert proc.returncode == 2 and "run_card.json: file not found" in proc.stderr, proc.stderr


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("::", False),
                                                ("192.168.1.5", False), ("example.org", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
