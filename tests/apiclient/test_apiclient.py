"""apiclient over real HTTP: a scripted fault server on 127.0.0.1 (tests/servers.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from servers import FaultServer, free_port

from apiclient import (
    LOCAL_DUMMY_KEY,
    ChatRequest,
    ClientConfig,
    ResponseCache,
    TokenBucket,
    arun_all,
    public_config,
    resolve_api_key,
    response_format_for,
    run_all,
    summarize,
)
from schemas.config import ConfigError


def make_cfg(server: FaultServer | None = None, **overrides) -> ClientConfig:
    base = {"base_url": server.base_url if server else "http://127.0.0.1:9/v1", "model": "test-model",
            "api_key_env": None, "backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_retries": 3,
            "timeout_s": 5.0, "concurrency": 4}
    return ClientConfig(**{**base, **overrides})


def reqs(n: int, tag: str = "q") -> list[ChatRequest]:
    return [ChatRequest([{"role": "user", "content": f"{tag} number {i}"}]) for i in range(n)]


# --- config and key ------------------------------------------------------------------------------------

def test_config_reports_every_problem_at_once():
    data = {"base_url": "localhost:8080", "model": "m", "temprature": 0.5, "rpm": -1, "response_format": "xml"}
    with pytest.raises(ConfigError) as err:
        ClientConfig.from_mapping(data, "recipes/data/llm.yml: backend")
    problems = err.value.problems
    assert len(problems) == 4, problems
    assert any("unknown key 'temprature'" in p and "did you mean 'temperature'" in p for p in problems)
    assert any(p.startswith("recipes/data/llm.yml: backend.rpm: must be > 0") for p in problems)
    assert any("response_format: 'xml' is not one of json_schema" in p for p in problems)
    assert any("base_url: 'localhost:8080' must start with http://" in p for p in problems)


def test_missing_key_env_var_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("MI_TEST_UNSET_KEY", raising=False)
    cfg = make_cfg(base_url="https://api.example.com/v1", api_key_env="MI_TEST_UNSET_KEY")
    with pytest.raises(ConfigError, match="env var MI_TEST_UNSET_KEY .* is not set"):
        resolve_api_key(cfg)
    with pytest.raises(ConfigError, match="api_key_env is null but base_url https://api.example.com/v1"):
        resolve_api_key(make_cfg(base_url="https://api.example.com/v1", api_key_env=None))
    assert resolve_api_key(make_cfg(api_key_env=None)) == LOCAL_DUMMY_KEY


@pytest.mark.parametrize("url", ["http://api.example.com/v1", "http://10.0.0.5:8000/v1",
                                 "http://127.0.0.1.example.com/v1", "http://localhost@api.example.com/v1"])
def test_plain_http_to_a_remote_host_is_refused_unless_the_recipe_opts_out(url):
    data = {"base_url": url, "model": "m", "api_key_env": "MI_TEST_API_KEY"}
    with pytest.raises(ConfigError) as err:
        ClientConfig.from_mapping(data, "recipes/data/llm.yml: openai")
    [problem] = err.value.problems
    assert problem.startswith(f"recipes/data/llm.yml: openai.base_url: '{url}' is plain http"), problem
    assert "clear text" in problem and "allow_insecure_http: true" in problem and "\n" not in problem
    assert ClientConfig.from_mapping({**data, "allow_insecure_http": True}, "x").allow_insecure_http


@pytest.mark.parametrize("url", ["https://api.example.com/v1", "http://127.0.0.1:8080/v1",
                                 "http://localhost:8080/v1", "http://[::1]:8080/v1", "http://127.0.0.2/v1"])
def test_https_and_local_http_need_no_opt_out(url):
    assert ClientConfig.from_mapping({"base_url": url, "model": "m"}, "x").base_url == url


def test_plain_http_config_built_in_code_is_refused_before_any_request(monkeypatch):
    monkeypatch.setenv("MI_TEST_API_KEY", "sk-test-not-for-clear-text")
    cfg = make_cfg(base_url="http://api.example.com/v1", api_key_env="MI_TEST_API_KEY", max_retries=0)
    with pytest.raises(ConfigError, match="allow_insecure_http"):
        run_all(reqs(1), cfg, progress=False)


@pytest.mark.parametrize("bad, expected", [
    ({"request_deadline_s": 0}, "request_deadline_s: must be > 0, got 0"),
    ({"request_deadline_s": "2m"}, "request_deadline_s: expected a number, got '2m'"),
    ({"max_response_bytes": -1}, "max_response_bytes: must be > 0, got -1"),
    ({"max_response_bytes": 1.5e6}, "max_response_bytes: expected an integer, got 1500000.0"),
    ({"allow_insecure_http": "yes"}, "allow_insecure_http: expected true or false, got 'yes'"),
])
def test_new_limits_are_checked(bad, expected):
    with pytest.raises(ConfigError) as err:
        ClientConfig.from_mapping({"base_url": "http://127.0.0.1:8080/v1", "model": "m", **bad}, "r.yml: openai")
    assert err.value.problems == [f"r.yml: openai.{expected}"]


def test_deadline_defaults_to_twice_the_timeout_and_is_recorded():
    cfg = ClientConfig.from_mapping({"base_url": "http://127.0.0.1:8080/v1", "model": "m", "timeout_s": 30}, "x")
    assert cfg.request_deadline_s == 60 and public_config(cfg)["request_deadline_s"] == 60
    assert make_cfg(request_deadline_s=7).request_deadline_s == 7
    assert public_config(cfg)["max_response_bytes"] == 1_000_000


def test_response_format_modes():
    schema = {"type": "object"}
    assert response_format_for("json_schema", schema, "x") == {
        "type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": schema}}
    assert response_format_for("json_object_schema", schema) == {"type": "json_object", "schema": schema}
    assert response_format_for("none", schema) is None


# --- retries ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("faults", [
    [("status", 429)],
    [("status", 500), ("status", 503)],
    [("malformed",)],
    [("slow", 3.0)],
], ids=["429", "500-503", "malformed-body", "timeout"])
def test_retries_until_the_server_recovers(fault_server, faults):
    fault_server.set_script(faults)
    [result] = run_all(reqs(1), make_cfg(fault_server, timeout_s=1.0), progress=False)
    assert result.ok, result.error
    assert result.attempts == len(faults) + 1
    assert len(fault_server.requests) == len(faults) + 1
    assert json.loads(result.content) == {"query": "ok", "entities": []}


def test_retry_after_header_is_honoured(fault_server):
    fault_server.set_script([("status", 429, {"Retry-After": "1"})])
    [result] = run_all(reqs(1), make_cfg(fault_server, backoff_base_s=0.01, backoff_max_s=2), progress=False)
    first, second = (r["at"] for r in fault_server.requests)
    assert result.ok and result.attempts == 2
    assert second - first >= 0.95  # backoff alone would wait <= 0.01 s


@pytest.mark.parametrize("headers", [
    {"Retry-After": "inf"},
    {"Retry-After": "1e12"},
    {"Retry-After": "Fri, 01 Jan 2999 00:00:00 GMT"},
    {"retry-after-ms": "1e15"},
], ids=["inf", "huge-number", "far-date", "huge-ms"])
def test_retry_after_is_capped_by_backoff_max(fault_server, headers):
    fault_server.set_script([("status", 429, headers)])
    cfg = make_cfg(fault_server, backoff_max_s=0.3)
    # wait_for: an uncapped wait would hang the test instead of failing it.
    [result] = asyncio.run(asyncio.wait_for(arun_all(reqs(1), cfg, progress=False), 15))
    first, second = (r["at"] for r in fault_server.requests)
    assert result.ok and result.attempts == 2
    assert 0.25 <= second - first < 5  # the server's wait, cut to backoff_max_s


def test_unreadable_retry_after_falls_back_to_backoff(fault_server):
    fault_server.set_script([("status", 503, {"Retry-After": "nan"}), ("status", 503, {"Retry-After": "-5"})])
    [result] = asyncio.run(asyncio.wait_for(arun_all(reqs(1), make_cfg(fault_server), progress=False), 15))
    assert result.ok and result.attempts == 3


def test_slow_drip_is_cut_by_the_request_deadline(fault_server):
    """Each piece comes well within timeout_s; the answer takes 8 s in all. The default deadline
    (2 x timeout_s) ends the attempt, and it counts as a timeout."""
    fault_server.set_script([("drip", 8.0)])
    start = time.monotonic()
    [result] = run_all(reqs(1), make_cfg(fault_server, timeout_s=1.0, max_retries=0), progress=False)
    took = time.monotonic() - start
    assert not result.ok and result.error_kind == "timeout", result
    assert "request_deadline_s (2 s)" in result.error and took < 6, (result.error, took)


def test_deadline_timeout_is_retried(fault_server):
    fault_server.set_script([("drip", 8.0)])
    cfg = make_cfg(fault_server, timeout_s=1.0, request_deadline_s=1.0, max_retries=1)
    start = time.monotonic()
    [result] = run_all(reqs(1), cfg, progress=False)
    assert result.ok and result.attempts == 2 and time.monotonic() - start < 6
    assert json.loads(result.content) == {"query": "ok", "entities": []}


@pytest.mark.parametrize("framing", ["length", "close", "gzip"])
def test_oversized_body_is_refused_and_the_run_goes_on(fault_server, framing):
    """A 2 MB answer, with its length declared, ended by closing the connection, or gzipped to a few KB:
    the default cap (1,000,000 bytes after gunzip) refuses each, once, and the other requests succeed."""
    fault_server.set_script([("huge", 2_000_000, framing)])
    results = run_all(reqs(3), make_cfg(fault_server, concurrency=1), progress=False)
    bad, *good = results
    assert not bad.ok and bad.error_kind == "response_too_large", bad
    assert "max_response_bytes (1000000)" in bad.error and bad.attempts == 1
    assert all(r.ok for r in good) and len(fault_server.requests) == 3
    assert summarize(results, make_cfg(fault_server))["errors"] == {"response_too_large": 1}


def test_oversized_error_body_is_refused_too(fault_server):
    fault_server.set_script([("status", 503, {}, 2_000_000)])
    [result] = run_all(reqs(1), make_cfg(fault_server), progress=False)
    assert result.error_kind == "response_too_large" and len(fault_server.requests) == 1
    assert result.error.startswith("HTTP 503 body of") and "max_response_bytes" in result.error


def test_body_under_the_cap_passes_and_only_gzip_is_offered(fault_server):
    fault_server.set_script([("huge", 3000, "gzip"), ("huge", 3000, "close")])
    results = run_all(reqs(2), make_cfg(fault_server, max_response_bytes=5000, concurrency=1), progress=False)
    assert [len(r.content) for r in results] == [3000, 3000]
    accept = {k.lower(): v for k, v in fault_server.requests[0]["headers"].items()}["accept-encoding"]
    assert accept == "gzip"


MALFORMED = {
    "empty-object": "{}",
    "choices-null": '{"choices": null}',
    "choices-string": '{"choices": "abc"}',
    "choice-null": '{"choices": [null]}',
    "choice-empty": '{"choices": [{}]}',
    "message-null": '{"choices": [{"message": null, "finish_reason": "stop"}]}',
    "content-number": '{"choices": [{"message": {"content": 42}}]}',
    "finish-number": '{"choices": [{"message": {"content": "x"}, "finish_reason": 1}]}',
    "usage-string": '{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "many"}}',
    "usage-negative": '{"choices": [{"message": {"content": "x"}}], "usage": {"completion_tokens": -5}}',
    "array": "[]",
    "string": '"an answer"',
    "null": "null",
    "deep-nesting": "[" * 100_000 + "]" * 100_000,
    "not-utf8": b"\xff\xfe{",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_200_is_a_counted_failure_never_an_abort(fault_server, body):
    """Only the request answered with the bad body fails (retried, then counted by kind); the others
    are answered and cached as usual."""
    fault_server.answer = lambda req: ("raw", body) if "number 1" in req["messages"][0]["content"] else "fine"
    cfg = make_cfg(fault_server, max_retries=1)
    results = run_all(reqs(3), cfg, progress=False)
    assert [r.ok for r in results] == [True, False, True] and results[0].content == "fine"
    bad = results[1]
    assert bad.error_kind == "malformed_response" and bad.attempts == 2, bad
    assert bad.error.startswith("malformed response (") and "\n" not in bad.error
    assert bad.rejection == "malformed_response"
    assert summarize(results, cfg)["errors"] == {"malformed_response": 1}


@pytest.mark.parametrize("body", ['{"choices": []}', '{"choices": [{"message": {"content": null}}]}',
                                  '{"choices": [{"message": {"content": null, "refusal": "I cannot"}}]}'],
                         ids=["no-choices", "content-null", "refusal"])
def test_well_formed_answer_without_content_is_an_empty_response(fault_server, body):
    fault_server.set_script([("raw", body)])
    [bad, good] = run_all(reqs(2), make_cfg(fault_server, concurrency=1), progress=False)
    assert bad.error_kind == "empty_response" and bad.attempts == 1 and good.ok  # final: no retry
    assert ("refusal: I cannot" in bad.error) == ("refusal" in body)


def test_other_client_errors_are_not_retried(fault_server):
    fault_server.set_script([("status", 400)])
    [result] = run_all(reqs(1), make_cfg(fault_server), progress=False)
    assert not result.ok and result.attempts == 1 and len(fault_server.requests) == 1
    assert result.error.startswith("HTTP 400") and result.error_kind == "http_400"


def test_server_that_never_recovers_keeps_what_was_produced(fault_server, tmp_path):
    fault_server.set_script([("ok",)], default=("status", 503))
    cfg = make_cfg(fault_server, concurrency=1, max_retries=2)
    with ResponseCache.in_dir(tmp_path) as cache:
        results = run_all(reqs(3), cfg, cache, progress=False)
        assert sum(r.ok for r in results) == 1 and len(cache) == 1
        for r in (r for r in results if not r.ok):
            assert r.error == "HTTP 503: scripted 503 after 3 attempts", r.error
        assert len(fault_server.requests) == 1 + 2 * 3

        fault_server.set_script([])  # recovered: only the two failures go over HTTP again
        again = run_all(reqs(3), cfg, cache, progress=False)
        assert all(r.ok for r in again) and len(cache) == 3
        assert len(fault_server.requests) == 7 + 2
        assert [r.cached for r in again] == [r.ok for r in results]


def test_connection_error_names_the_cause_and_attempts():
    cfg = make_cfg(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1)
    [result] = run_all(reqs(1), cfg, progress=False)
    assert result.error_kind == "connection" and result.error.endswith("after 2 attempts"), result.error


# --- cache and resume ----------------------------------------------------------------------------------

def test_cache_makes_a_rerun_free_and_a_changed_request_a_miss(fault_server, tmp_path):
    cfg = make_cfg(fault_server)
    with ResponseCache.in_dir(tmp_path) as cache:
        first = run_all(reqs(3) + reqs(1), cfg, cache, progress=False)  # the duplicate shares one call
        assert len(fault_server.requests) == 3 and len(cache) == 3
        second = run_all(reqs(3), cfg, cache, progress=False)
        assert len(fault_server.requests) == 3
        assert all(r.cached and r.attempts == 0 for r in second)
        assert [r.content for r in second] == [r.content for r in first[:3]]
        run_all(reqs(3), make_cfg(fault_server, temperature=0.1), cache, progress=False)
        assert len(fault_server.requests) == 6


def test_interrupted_run_resumes_without_loss_or_duplicates(fault_server, tmp_path):
    fault_server.set_script([], default=("slow", 0.15))
    cfg = make_cfg(fault_server, concurrency=1)

    async def interrupted(cache: ResponseCache) -> None:
        task = asyncio.create_task(arun_all(reqs(8), cfg, cache, progress=False))
        while len(cache) < 3:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with ResponseCache.in_dir(tmp_path) as cache:
        asyncio.run(interrupted(cache))
        done = len(cache)
        assert 3 <= done < 8
        before = len(fault_server.requests)
        results = run_all(reqs(8), cfg, cache, progress=False)
        assert all(r.ok for r in results) and len(cache) == 8
        assert sum(r.cached for r in results) == done
        assert len(fault_server.requests) - before == 8 - done


# --- secrets -------------------------------------------------------------------------------------------

def test_api_key_is_sent_but_never_stored_or_logged(fault_server, tmp_path, monkeypatch, capsys):
    secret = "sk-test-5ecret-d0-not-leak"
    monkeypatch.setenv("MI_TEST_API_KEY", secret)
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # everything, the openai and http libraries included
    try:
        fault_server.set_script([("status", 429), ("status", 500)])
        cfg = make_cfg(fault_server, api_key_env="MI_TEST_API_KEY")
        with ResponseCache.in_dir(tmp_path) as cache:
            results = run_all(reqs(2), cfg, cache, progress=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert all(r.ok for r in results)
    auth = {k.lower(): v for k, v in fault_server.requests[0]["headers"].items()}["authorization"]
    assert auth == f"Bearer {secret}"
    assert "retrying after HTTP 429" in log_file.read_text()
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"openai_cache.sqlite", "run.log"}
    for path in files:
        assert secret.encode() not in path.read_bytes(), path
    out = capsys.readouterr()
    text = out.out + out.err + json.dumps(public_config(cfg)) + json.dumps(summarize(results, cfg)) + repr(cfg)
    assert secret not in text


# --- limits and accounting -------------------------------------------------------------------------------

def test_rpm_spaces_requests(fault_server):
    cfg = make_cfg(fault_server, rpm=240, concurrency=8)  # 4/s, bursts of 4
    start = time.monotonic()
    results = run_all(reqs(8), cfg, progress=False)
    assert all(r.ok for r in results)
    assert time.monotonic() - start >= 0.9  # 4 beyond the burst at 4/s: >= 1.0 s


def test_tpm_is_corrected_with_reported_usage(fault_server):
    fault_server.usage = (900, 100)  # 1000 tokens per answer, while the prompt estimate is ~3
    cfg = make_cfg(fault_server, tpm=60_000, concurrency=1)  # 1000 tokens/s, bucket of 1000
    start = time.monotonic()
    results = run_all(reqs(3), cfg, progress=False)
    assert all(r.ok for r in results)
    assert time.monotonic() - start >= 0.9  # 2 answers' debt of ~2000 tokens minus the 1000 burst


def test_reported_usage_cannot_stall_the_run():
    bucket = TokenBucket(per_minute=6000)
    bucket.correct(10**15)  # a server claiming a quadrillion tokens for one answer
    assert bucket.tokens >= -6000  # at most a minute's wait at this tpm


def test_summary_counts_tokens_and_cost(fault_server, tmp_path):
    cfg = make_cfg(fault_server, price_per_1m_input=1.0, price_per_1m_output=2.0)
    fault_server.set_script([("status", 500)])
    with ResponseCache.in_dir(tmp_path) as cache:
        fresh = summarize(run_all(reqs(3), cfg, cache, progress=False), cfg)
        cached = summarize(run_all(reqs(3), cfg, cache, progress=False), cfg)
    assert fresh["requests"] == 3 and fresh["http_requests"] == 4 and fresh["cached"] == 0
    assert (fresh["prompt_tokens"], fresh["completion_tokens"]) == (30, 15)
    assert fresh["cost_usd"] == pytest.approx((30 * 1.0 + 15 * 2.0) / 1e6)
    assert cached["http_requests"] == 0 and cached["cached"] == 3
    assert cached["cost_usd"] == 0 and cached["cost_usd_total"] == fresh["cost_usd"]


def test_response_format_is_sent_as_given(fault_server):
    rf = response_format_for("json_object_schema", {"type": "object"})
    run_all([ChatRequest([{"role": "user", "content": "x"}], response_format=rf, seed=7)],
            make_cfg(fault_server, max_tokens=33), progress=False)
    body = fault_server.requests[0]["body"]
    assert body["response_format"] == rf and body["seed"] == 7 and body["max_tokens"] == 33
    assert body["model"] == "test-model"


def test_cache_file_lives_in_the_given_folder(tmp_path: Path):
    with ResponseCache.in_dir(tmp_path / "out") as cache:
        assert cache.path == tmp_path / "out" / "openai_cache.sqlite" and len(cache) == 0
