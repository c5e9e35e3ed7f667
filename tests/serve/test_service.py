"""`python -m serve` over real HTTP on loopback with the real SmolLM2 weights."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
from conftest import REPO, Service

from schemas import extraction_schema, load_taxonomy

TAX = load_taxonomy()
VALIDATOR = jsonschema.Draft202012Validator(extraction_schema(TAX, max_value_chars=24, max_entities=2))
QUERIES = ["who directed Parasite", 'is "Amélie" on Netflix', "any uplifting comedies from the 90s?",
           "play Inception", "something like Spirited Away but darker", "where can I stream Dune",
           "films by Greta Gerwig", "a cozy mystery for tonight"]


def post(url: str, body: Any, path: str = "/v1/parse") -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def check_parsed(query: str, parsed: dict[str, Any]) -> None:
    assert parsed["query"] == query and parsed["status"] == "ok", parsed
    out = {"intent": parsed["intent"], "entities": [{"type": e["type"], "value": e["value"]}
                                                    for e in parsed["entities"]]}
    assert VALIDATOR.is_valid(out), parsed
    for e in parsed["entities"]:  # offsets index the query as sent (non-ASCII included)
        assert query[e["start"]:e["end"]] == e["value"], (query, e)


def test_single_and_batch_queries_are_grounded_spans(service: Service) -> None:
    status, body = post(service.url, {"query": QUERIES[1]})
    assert status == 200 and body["latency_ms"] > 0
    check_parsed(QUERIES[1], body)
    status, body = post(service.url, {"queries": QUERIES[:3]})
    assert status == 200 and len(body["results"]) == 3
    for q, parsed in zip(QUERIES[:3], body["results"], strict=True):
        check_parsed(q, parsed)
    # The same query alone and inside a batch gives the same answer (greedy, per-row grammar).
    assert body["results"][1]["entities"] == post(service.url, {"query": QUERIES[1]})[1]["entities"]


def test_concurrent_requests_share_one_decode(service: Service) -> None:
    before = json.loads(urllib.request.urlopen(service.url + "/healthz").read())
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda q: post(service.url, {"query": q}), QUERIES))
    for q, (status, body) in zip(QUERIES, answers, strict=True):
        assert status == 200
        check_parsed(q, body)
    after = json.loads(urllib.request.urlopen(service.url + "/healthz").read())
    assert after["queries"] - before["queries"] == 8
    assert after["batches"] - before["batches"] < 8  # at least two requests met in one batch
    assert max(after["recent_batch_sizes"][-(after["batches"] - before["batches"]):]) > 1


def test_bad_requests_get_422_with_a_message(service: Service) -> None:
    cases = {
        "exactly one of 'query'": {},
        "query is empty": {"query": "   "},
        "queries is empty": {"queries": []},
        "the limit is 512": {"query": "x" * 513},
        "the limit is 64": {"queries": ["a"] * 65},
    }
    for message, body in cases.items():
        status, answer = post(service.url, body)
        assert status == 422 and message.replace("queries is", "'queries' is") in answer["detail"], answer
    status, answer = post(service.url, {"query": 42})  # wrong type: one line naming the field, and where
    assert status == 422 and answer["detail"] == "query: Input should be a valid string"
    assert answer["errors"] == [{"loc": ["body", "query"], "msg": "Input should be a valid string"}]
    status, answer = post(service.url, {"query": "a", "extra": 1})
    assert status == 422 and answer["errors"][0]["loc"] == ["body", "extra"]
    status, answer = post(service.url, b"{not json")
    assert status == 422 and answer["detail"].startswith("body at character 1: not valid JSON")


def test_search_parses_then_ranks_kg_titles_as_search_does(service: Service) -> None:
    """POST /v1/search = the parse of /v1/parse plus search.search() of that extraction, in one call."""
    from search import search

    for query in ("any uplifting comedies from the 90s?", "films by Greta Gerwig", "play Inception"):
        status, body = post(service.url, {"query": query}, "/v1/search")
        assert status == 200, body
        parsed = post(service.url, {"query": query})[1]
        assert (body["intent"], body["entities"]) == (parsed["intent"], parsed["entities"])
        # exclusions and canonical values reach search as the parser gave them
        extraction = {"intent": body["intent"],
                      "entities": [{k: e.get(k) for k in ("type", "value", "exclude", "canonical")}
                                   for e in body["entities"]]}
        assert body["search"] == json.loads(json.dumps(search(extraction, query)))
        assert body["search_ms"] >= 0 and body["latency_ms"] > 0
    status, body = post(service.url, {"query": "play Alien"}, "/v1/search")
    assert status == 200
    status, answer = post(service.url, {"query": "  "}, "/v1/search")
    assert status == 422 and "query is empty" in answer["detail"]
    status, answer = post(service.url, {"queries": ["a"]}, "/v1/search")
    assert status == 422 and {tuple(d["loc"]) for d in answer["errors"]} == {("body", "query"), ("body", "queries")}


def test_queue_limit_answers_503(service: Service) -> None:
    status, answer = post(service.url, {"queries": ["play Inception"] * 41})  # the test config allows 40
    assert status == 503 and "the limit is 40" in answer["detail"]


def test_health_docs_and_page(service: Service) -> None:
    health = json.loads(urllib.request.urlopen(service.url + "/healthz").read())
    assert health["status"] == "ok" and health["engine"] == "fast" and health["mode"] == "grounded"
    spec = json.loads(urllib.request.urlopen(service.url + "/openapi.json").read())
    assert {"/v1/parse", "/v1/search", "/healthz"} <= set(spec["paths"])
    assert b"swagger" in urllib.request.urlopen(service.url + "/docs").read().lower()
    page = urllib.request.urlopen(service.url + "/").read().decode()
    assert 'id="query"' in page and "/v1/search" in page


def test_a_run_folder_without_adapter_is_refused_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "serve", "--run", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path}/run_card.json: file not found; pass a run folder written by make train"
    card = {"resolved_config": {"base_model": "models/smollm2-135m-instruct"}, "data": {"system_prompt": ""}}
    (tmp_path / "run_card.json").write_text(json.dumps(card))
    proc = subprocess.run([sys.executable, "-m", "serve", "--run", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "no adapter_model.safetensors or adapter_config.json" in proc.stderr
