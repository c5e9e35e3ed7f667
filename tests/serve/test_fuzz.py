"""Property-based fuzzing of the running service from its own OpenAPI schema (schemathesis strategies run
by Hypothesis): valid and invalid requests for every operation, each answered without a 5xx, in time,
with a documented status code and a response that fits its documented schema; a request that breaks
the schema must be refused with a 4xx.

Bounded for 2 cores: a few examples per operation and mode, derandomized so a failure reproduces (the
falsifying `case` printed is the request to replay). The real model decodes whatever valid queries
Hypothesis invents, so examples are few. Hypothesis drives schemathesis' strategies directly:
`schemathesis.pytest.from_fixture` reads a private pytest attribute that pytest 9 no longer has.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from client import call
from conftest import Service
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

ANSWER_WITHIN_S = 60  # the config's request timeout (30 s) and a margin for a busy machine
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
OPERATIONS = [("POST", "/v1/parse"), ("POST", "/v1/search"), ("GET", "/healthz")]
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 30}


@pytest.fixture(scope="module")
def api_schema(service: Service) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(service.url + "/openapi.json")
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert operations == set(OPERATIONS)  # every operation is fuzzed: a new one joins OPERATIONS
    return schema


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda x: x.strip("/").replace("/", "."))
def test_the_service_answers_what_its_schema_promises(api_schema: schemathesis.BaseSchema, method: str,
                                                      path: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    if mode is GenerationMode.NEGATIVE and not operation.body:
        pytest.skip(f"{method} {path} takes no input to break")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def answers(case: schemathesis.Case) -> None:
        t0 = time.monotonic()
        response = case.call(timeout=ANSWER_WITHIN_S)
        assert time.monotonic() - t0 < ANSWER_WITHIN_S
        case.validate_response(response, checks=CHECKS)

    answers()


# Any text at all, as people and programs send it: every code point but the surrogates JSON cannot carry
# as UTF-8, words and punctuation mixed. Schemathesis' valid bodies mostly miss the decoder (one of the two
# fields, an empty list); these all reach it unless they are refused with a 422.
QUERY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)
WORDS = st.lists(st.sampled_from(["play", "Dune", "the", "'90s", "Amélie", "🎬", "-", "not", "by"]),
                 min_size=1, max_size=8).map(" ".join)


@given(queries=st.lists(st.one_of(QUERY_TEXT, WORDS), min_size=1, max_size=4))
@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_any_text_is_parsed_or_refused_never_a_server_error(service: Service, queries: list[str]) -> None:
    answer = call(service.url, body={"queries": queries}, timeout=ANSWER_WITHIN_S)
    assert answer.status in (200, 422), (queries, answer.status, answer.raw[:300])
    if answer.status == 200:
        for query, parsed in zip(queries, answer.json["results"], strict=True):
            units = query.encode("utf-16-le")
            for e in parsed["entities"]:
                assert query[e["start"]:e["end"]] == e["value"]
                assert units[2 * e["start_utf16"]:2 * e["end_utf16"]].decode("utf-16-le") == e["value"]
