"""What one request may cost the service, over real HTTP with the real model: body size, query size in
words, invalid Unicode, the compiled-grammar cache, error size, offsets for JavaScript clients, Retry-After.
Each test replays a request that once hurt the service (and what it did then)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
from client import call
from conftest import Service

ZEROS_400KB = b'{"queries":[' + b",".join([b"0"] * 200_000) + b"]}"


def health(service: Service) -> dict:
    return call(service.url, "/healthz", method="GET").json


def test_an_oversize_body_is_refused_before_it_is_parsed(service: Service) -> None:
    """400 KB of zeros used to be parsed and every item validated and echoed: a 20.7 MB 422 after 4.3 s."""
    answer = call(service.url, body=ZEROS_400KB)
    assert answer.status == 413 and answer.json == {"detail": "body of 400013 bytes; the limit is 262144"}
    assert answer.seconds < 2
    # Without a Content-Length the body is counted as it arrives and refused once past the limit.
    chunked = call(service.url, chunks=(ZEROS_400KB[i:i + 16384] for i in range(0, len(ZEROS_400KB), 16384)))
    assert chunked.status == 413 and chunked.json == {"detail": "body over the limit of 262144 bytes"}
    assert call(service.url, "/healthz", method="GET").status == 200


def test_validation_errors_are_one_line_and_small_whatever_the_input(service: Service) -> None:
    """Under the size limit, 100,000 wrong items: one line naming the problem, no input echoed."""
    answer = call(service.url, body=b'{"queries":[' + b",".join([b"0"] * 100_000) + b"]}")
    assert answer.status == 422 and len(answer.raw) < 1000 and answer.seconds < 2
    assert answer.json["detail"] == "queries: has 100000 items; the limit is 64"
    wrong = call(service.url, body={"queries": [0] * 60 + ["x" * 600]})
    assert wrong.status == 422 and len(wrong.raw) < 2000 and "\n" not in wrong.json["detail"]
    assert wrong.json["detail"] == "queries[0]: Input should be a valid string (and 60 more problems)"
    assert len(wrong.json["errors"]) == 5 and "x" * 600 not in wrong.raw.decode()
    broken = call(service.url, body=b'{"query": "' + b"y" * 200_000)  # bad JSON: the body is not echoed
    assert broken.status == 422 and len(broken.raw) < 500
    assert broken.json["detail"] == "body at character 10: not valid JSON (Unterminated string starting at)"


def test_a_query_costs_its_words_not_its_characters(service: Service) -> None:
    """512 characters of 'a a a ...' built a grammar of ~9,500 rules; 256 words now overflow the grammar
    builder's recursion (a 500 for the whole batch). The word limit refuses them before any work."""
    many = " ".join(["a"] * 256)
    t0 = time.monotonic()
    answer = call(service.url, body={"queries": ["play Dune", many]})
    assert answer.status == 422 and answer.json == {"detail": "queries[1] has 256 words; the limit is 64"}
    answer = call(service.url, body={"queries": [many] * 64})
    assert answer.status == 422 and "the limit is 64" in answer.json["detail"]
    assert time.monotonic() - t0 < 3
    assert call(service.url, body={"query": " ".join(["a"] * 64)}).status == 200


def test_expensive_queries_do_not_grow_the_service(service: Service) -> None:
    """Two requests of 8 queries of 250 one-letter words took 9 s and 19 s and grew the service from
    1.9 GB to 4.6 GB resident (one cached grammar per distinct query, never evicted)."""
    process = psutil.Process(service.process.pid)
    before = process.memory_info().rss
    for letter in "ab":
        answer = call(service.url, body={"queries": [" ".join([letter] * 250) + f" {i}" for i in range(8)]})
        assert answer.status == 422 and answer.seconds < 2
    assert process.memory_info().rss - before < 100 << 20


def test_the_compiled_grammar_cache_stays_near_its_limit(service: Service) -> None:
    """Distinct long queries, each its own grammar: the cache is evicted past grammar_cache_mb (1 MB in
    the test config); unbounded it would hold every one of them (~2 MB each here)."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    queries = [" ".join(words[(i + k) % 8] + str(k % (i + 3)) for k in range(60)) for i in range(8)]
    answer = call(service.url, body={"queries": queries})
    assert answer.status == 200, answer.raw[:300]
    state = health(service)
    assert state["grammar_cache_limit_bytes"] == 1 << 20
    assert state["grammar_cache_bytes"] < 4 << 20


def test_invalid_unicode_is_refused_and_never_fails_a_neighbour(service: Service) -> None:
    """A lone surrogate passed validation, failed in the grammar and in the response: a 500 for it and
    for the valid queries of two other clients decoded in the same batch."""
    bad = b'{"queries":["play Dune","play \\ud800 now"]}'
    good = [{"query": "play Inception"}, {"queries": ["who directed Parasite"]}]
    with ThreadPoolExecutor(3) as pool:  # the test config waits 300 ms, so these would share a batch
        answers = list(pool.map(lambda body: call(service.url, body=body), [bad, *good]))
    assert answers[0].status == 422
    assert answers[0].json["detail"].startswith("queries[1]: not valid Unicode: unpaired surrogate U+D800 "
                                                "at character 5; send UTF-8 text")
    assert [a.status for a in answers[1:]] == [200, 200]
    low = call(service.url, "/v1/search", b'{"query":"\\udc00 Dune"}')
    assert low.status == 422 and low.json["detail"].startswith("query: not valid Unicode: unpaired surrogate U+DC00")
    # Found by the fuzzer: a code point of an unassigned plane inside a word left the grammar no token to
    # allow (an IndexError in the engine); such text is refused.
    plane4 = call(service.url, body={"query": "play x\U0004e73cy"})
    assert plane4.status == 422
    assert plane4.json == {"detail": "query is not text: U+4E73C at character 6 is in an unassigned Unicode "
                                     "plane (4-13)"}
    paired = call(service.url, body=b'{"query":"play \\ud83c\\udfac Dune"}')  # an escaped emoji is fine
    assert paired.status == 200 and paired.json["query"] == "play \U0001F3AC Dune"
    raw = call(service.url, body=b'{"query":"play \xff Dune"}')
    assert raw.status == 400 and raw.json == {"detail": "body is not UTF-8: byte 0xff at offset 15"}


def test_entities_carry_utf16_offsets_for_javascript(service: Service) -> None:
    """Offsets were Python code points only; the page sliced UTF-16 strings with them, so highlights
    shifted by one unit per emoji before an entity."""
    query = '\U0001F3AC\U0001F37F is "Amélie" on Netflix'
    answer = call(service.url, body={"query": query})
    assert answer.status == 200 and answer.json["entities"], answer.json
    units = query.encode("utf-16-le")
    for e in answer.json["entities"]:
        assert query[e["start"]:e["end"]] == e["value"]
        assert units[2 * e["start_utf16"]:2 * e["end_utf16"]].decode("utf-16-le") == e["value"]
        assert e["start_utf16"] == e["start"] + 2  # two emoji before it, two UTF-16 units each
    spec = call(service.url, "/openapi.json", method="GET").json
    fields = spec["components"]["schemas"]["Entity"]["properties"]
    assert "UTF-16" in fields["start_utf16"]["description"] and "code points" in fields["start"]["description"]


def test_refusals_for_load_carry_retry_after(service: Service) -> None:
    answer = call(service.url, body={"queries": ["play Inception"] * 41})  # the test config allows 40
    assert answer.status == 503 and int(answer.headers["retry-after"]) >= 1
    state = health(service)
    assert state["status"] == "ok" and state["worker"] == "alive" and state["restarts"] == 0
    assert state["model"] == {"base": "smollm2-135m-instruct", "run": "run"}
    assert "/" not in json.dumps(state["model"]) and state["queue_depth"] >= 0
