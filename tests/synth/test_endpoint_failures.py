"""`python -m synth` with the openai backend when the endpoint fails: a dead port, a server that starts
failing, too few good answers, and a kill -9 mid-run. Real subprocesses against real HTTP on loopback
(tests/servers.py's scripted server); the previous dataset must survive every one of them."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from servers import FaultServer, free_port
from test_kill import DEFAULT, ROOT, assert_same_dataset, env, leftovers, run_synth, snapshot, synth_cmd

from synth.writer import verify_manifest

VALUES = re.compile(r"^- (\w+): (.+)$")


def recipe(tmp: Path, base_url: str, **over: object) -> Path:
    """The default recipe on the openai backend, pointed at `base_url`, no key, fast retries."""
    raw = yaml.safe_load(DEFAULT.read_text())
    raw["backend"] = "openai"
    raw["openai"].update(base_url=base_url, model="test-model", api_key_env=None,
                         response_format="json_object_schema", concurrency=4, rpm=None, tpm=None,
                         backoff_base_s=0.01, backoff_max_s=0.05, max_retries=1, timeout_s=5, cache_dir=None)
    raw["openai"].update(over.pop("openai", {}))
    raw.update(over)
    path = tmp / f"recipe-{len(list(tmp.glob('recipe-*')))}.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def grounded_answer(body: dict) -> str:
    """A valid answer built from the values the prompt asks for: the same prompt, the same answer."""
    user = body["messages"][1]["content"]
    slots = [m.groups() for line in user.splitlines() if (m := VALUES.match(line))
             and line.split(":")[0][2:] in _TYPES]
    # A tag from the whole prompt keeps answers to frames with the same values apart (else deduped).
    tag = hashlib.sha1(user.encode()).hexdigest()[:6]
    query = f"find {' | '.join(v for _, v in slots)} ({tag})" if slots else f"something to watch {tag}"
    return json.dumps({"query": query, "entities": [{"type": t, "value": v} for t, v in slots]})


_TYPES = set(yaml.safe_load((ROOT / "schemas/taxonomy.yaml").read_text())["entity_types"])


def previous_dataset(out: Path) -> dict[str, bytes]:
    assert run_synth(out, seed=14, n=60).returncode == 0
    return snapshot(out)


def test_dead_endpoint_fails_within_seconds_and_keeps_the_dataset(tmp_path):
    out = tmp_path / "ds"
    before = previous_dataset(out)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    # The recipe's own retry settings (6 retries, backoff up to 60 s): the breaker, not a short
    # backoff, must make this fast.
    config = recipe(tmp_path, dead, openai={"max_retries": 6, "backoff_base_s": 1, "backoff_max_s": 60})
    start = time.monotonic()
    proc = subprocess.run(synth_cmd(out, seed=13, n=300, config=config), capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=60)
    took = time.monotonic() - start
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert took < 20, f"took {took:.1f} s to give up on a dead endpoint"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]  # one line, no per-frame noise, no traceback
    assert dead in lines[0] and "connection error" in lines[0].lower() and str(out) in lines[0]
    assert snapshot(out, {"openai_cache.sqlite"}) == before and leftovers(out) == []


def test_server_failing_midway_trips_the_error_share_and_keeps_dataset_and_cache(fault_server: FaultServer,
                                                                                tmp_path):
    out = tmp_path / "ds"
    before = previous_dataset(out)
    fault_server.answer = grounded_answer
    fault_server.set_script([("ok",)] * 12, default=("status", 500))
    config = recipe(tmp_path, fault_server.base_url, openai={"concurrency": 1, "max_retries": 0})
    proc = subprocess.run(synth_cmd(out, seed=13, n=100, config=config), capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=60)
    assert proc.returncode == 3, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fault_server.base_url in lines[0] and "HTTP 500" in lines[0], proc.stderr
    assert len(fault_server.requests) < 40  # stopped early, not after every frame
    assert snapshot(out, {"openai_cache.sqlite"}) == before
    with sqlite3.connect(out / "openai_cache.sqlite") as db:  # the good answers are kept for a rerun
        assert db.execute("select count(*) from responses").fetchone()[0] == 12


def test_shortfall_fails_unless_the_recipe_allows_it(fault_server: FaultServer, tmp_path):
    """The server answers every out_of_scope prompt with garbage: that intent can never be filled."""
    out = tmp_path / "ds"
    before = previous_dataset(out)

    def answer(body: dict) -> str:
        return "no JSON here" if "Intent: out_of_scope:" in body["messages"][1]["content"] else \
            grounded_answer(body)

    fault_server.answer = answer
    strict = recipe(tmp_path, fault_server.base_url, max_rounds=1)
    proc = subprocess.run(synth_cmd(out, seed=13, n=50, config=strict), capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=60)
    assert proc.returncode == 4, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "of the 50 records asked" in lines[0] and "invalid_json" in lines[0]
    assert "min_records" in lines[0] and snapshot(out, {"openai_cache.sqlite"}) == before

    lenient = recipe(tmp_path, fault_server.base_url, max_rounds=1, min_records=0.8)
    proc = subprocess.run(synth_cmd(out, seed=13, n=50, config=lenient), capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    kept = manifest["counts"]["records"]
    assert 40 <= kept < 50 and "out_of_scope" not in manifest["counts"]["by_intent"]
    assert manifest["shortfall"] == {"requested": 50, "kept": kept, "min_records": 40}
    assert f"kept {kept} of 50 records" in proc.stderr


def test_kill_mid_run_keeps_previous_and_resume_matches_clean_run(fault_server: FaultServer, tmp_path):
    def slow_answer(body: dict) -> str:
        time.sleep(0.02)
        return grounded_answer(body)

    fault_server.answer = slow_answer
    config = recipe(tmp_path, fault_server.base_url, openai={"concurrency": 2})
    clean = tmp_path / "clean"
    assert run_synth(clean, seed=13, n=60, config=config).returncode == 0
    total = len(fault_server.requests)

    out = tmp_path / "ds"
    previous = previous_dataset(out)
    fault_server.requests.clear()
    proc = subprocess.Popen(synth_cmd(out, seed=13, n=60, config=config), cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(fault_server.requests) < total // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out, {"openai_cache.sqlite"}) == previous and verify_manifest(out) == []

    fault_server.requests.clear()
    done = run_synth(out, seed=13, n=60, config=config)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 0 < len(fault_server.requests) <= total - total // 2 + 4  # resumed from the cache
    assert leftovers(out) == []
    assert_same_dataset(out, clean)


@pytest.mark.parametrize("bad, expected", [
    ({"max_error_share": 1.5}, "max_error_share: must be a share in (0, 1]"),
    ({"max_consecutive_failures": 0}, "max_consecutive_failures: must be > 0"),
    ({"request_deadline_s": -1}, "request_deadline_s: must be > 0"),
    ({"max_response_bytes": "1MB"}, "max_response_bytes: expected a number"),
    ({"allow_insecure_http": "no"}, "allow_insecure_http: expected true or false"),
])
def test_client_keys_are_checked(tmp_path, bad, expected):
    config = recipe(tmp_path, "http://127.0.0.1:9/v1", openai=bad)
    proc = subprocess.run(synth_cmd(tmp_path / "x", 1, config=config) + ["--check"], capture_output=True,
                          text=True, cwd=ROOT, env=env(), timeout=60)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr


def test_plain_http_to_a_remote_host_is_refused_before_any_request(tmp_path):
    """The key would travel in clear text: one line naming the recipe, the key and the opt-out."""
    remote = "http://llm.example.com/v1"
    config = recipe(tmp_path, remote, openai={"api_key_env": "MI_TEST_API_KEY"})
    run_env = {**env(), "MI_TEST_API_KEY": "sk-test-not-for-clear-text"}
    proc = subprocess.run(synth_cmd(tmp_path / "x", seed=13, n=20, config=config), capture_output=True,
                          text=True, cwd=ROOT, env=run_env, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    [line] = [ln for ln in proc.stderr.splitlines() if "base_url" in ln]
    assert f"{config}: openai.base_url: '{remote}' is plain http" in line and "allow_insecure_http: true" in line
    assert not (tmp_path / "x").exists()


def test_progress_shows_counts_and_failures_are_one_summary_line(fault_server: FaultServer, tmp_path):
    """Three requests fail for good, one is retried: a summary line, not one line per frame."""
    fault_server.answer = grounded_answer
    fault_server.set_script([("status", 503), ("ok",), ("status", 400), ("status", 400), ("status", 400)])
    config = recipe(tmp_path, fault_server.base_url, openai={"concurrency": 1, "max_retries": 1},
                    min_records=0.9)
    cmd = [c for c in synth_cmd(tmp_path / "ds", seed=13, n=40, config=config) if c != "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env(), timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bars = proc.stderr.replace("\r", "\n")
    assert re.search(r"ok=\d+", bars) and "http_400=3" in bars and "retries=1" in bars  # the chat bar
    assert re.search(r"kept=\d+", bars) and "http_error=3" in bars  # the round bar: rejections by reason
    failed = [line for line in proc.stderr.splitlines() if "requests to" in line]
    assert len(failed) == 1 and "3 of" in failed[0] and "http_400 3" in failed[0], proc.stderr[-2000:]
