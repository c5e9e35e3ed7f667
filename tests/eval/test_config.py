"""eval/config.yml loading: the shipped file loads; choices checked at load match what decoding accepts."""

from __future__ import annotations

from decoding import hf
from eval.config import DTYPES, load_eval_config


def test_shipped_config_loads() -> None:
    cfg = load_eval_config()
    assert cfg.decode.mode == "grounded" and cfg.decode.dtype in DTYPES


def test_dtypes_checked_at_load_are_the_ones_decoding_supports() -> None:
    assert set(DTYPES) == set(hf._DTYPES) | {"auto"}
