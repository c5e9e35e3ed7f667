"""The page at / in a real headless Chromium (Debian's chromium + chromium-driver, driven over the W3C
WebDriver protocol): typing a query shows the intent and the entity spans the service returned,
highlighted with their types."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator

import pytest
from conftest import Service
from webdriver import ENTER, WebDriver

QUERY = 'is "Amélie" on Netflix'
# Each highlighted span as [type attribute, value text, type label].
SPANS_JS = """return [...document.querySelectorAll('#text mark.entity')].map(m =>
  [m.dataset.type, m.firstChild.textContent, m.querySelector('small').textContent]);"""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("chromium or chromedriver not installed: make setup-browser "
                    "(apt-get install -y chromium chromium-driver)")
    wd = WebDriver(binary, driver)
    try:
        yield wd
    finally:
        wd.quit()


def test_typing_a_query_highlights_the_returned_spans(service: Service, browser: WebDriver) -> None:
    req = urllib.request.Request(service.url + "/v1/search", data=json.dumps({"query": QUERY}).encode(),
                                 headers={"Content-Type": "application/json"})
    expected = json.loads(urllib.request.urlopen(req, timeout=300).read())
    assert expected["entities"], expected  # the page test needs at least one span to look for

    browser.get(service.url + "/")
    browser.type(browser.find("#query"), QUERY + ENTER)
    deadline = time.monotonic() + 300
    while not (state := browser.script("return document.body.dataset.state")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state == "done", browser.text(browser.find("#error"))
    assert browser.text(browser.find("#intent")) == expected["intent"]
    # a value the user rules out is labelled "not <type>" (and struck through)
    assert browser.script(SPANS_JS) == [[e["type"], e["value"], ("not " if e.get("exclude") else "") + e["type"]]
                                        for e in expected["entities"]]
    # The query reads whole, with the spans in place, and the latency is shown.
    assert browser.script("return document.getElementById('text').firstChild.textContent") == \
        QUERY[:expected["entities"][0]["start"]]
    assert "ms" in browser.text(browser.find("#latency"))
    # Under the query, the ranked KG titles that /v1/search returned, in order.
    titles = browser.script("return [...document.querySelectorAll('#results li b')].map((b) => b.textContent)")
    assert titles == [f"{r['title']} ({r['year'] if r['year'] is not None else '?'})"
                      for r in expected["search"]["results"]]
