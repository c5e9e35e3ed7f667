"""serve/config.yml loads strictly: every knob documented, unknown keys and bad values reported at once."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from conftest import REPO

from schemas import ConfigError
from serve.config import ServeConfig, load_serve_config


def test_every_key_is_loaded_and_carries_a_comment() -> None:
    cfg = load_serve_config()
    assert cfg.allow_unauthenticated_remote is False and cfg.host == "127.0.0.1"
    lines = [ln for ln in (REPO / "serve/config.yml").read_text().splitlines() if re.match(r"^\w+:", ln)]
    assert {ln.split(":")[0] for ln in lines} == {f.name for f in fields(ServeConfig)}
    assert [ln for ln in lines if "#" not in ln and not ln.startswith("port:")] == []


def test_problems_are_one_line_each_and_all_reported(tmp_path: Path) -> None:
    text = (REPO / "serve/config.yml").read_text()
    text = text.replace("request_timeout_s: 30", "request_timeut_s: 30")
    text = text.replace("allow_unauthenticated_remote: false", "allow_unauthenticated_remote: yes please")
    text = text.replace("max_query_words: 64", "max_query_words: 0")
    path = tmp_path / "serve.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_serve_config(path)
    assert err.value.problems == [
        f"{path}: unknown key 'request_timeut_s' (did you mean 'request_timeout_s'?)",
        f"{path}: missing key 'request_timeout_s'",
        f"{path}: allow_unauthenticated_remote: must be true or false, got 'yes please'",
        f"{path}: max_query_words: must be an integer >= 1, got 0",
    ]
