import random

import pytest

from synth.rotation import Rotation


def test_every_value_used_before_any_repeats():
    pool = list(range(37))
    rot = Rotation(pool, random.Random(1))
    first = [rot.next() for _ in pool]
    second = [rot.next() for _ in pool]
    assert sorted(first) == pool and sorted(second) == pool
    assert first != second  # reshuffled, not a fixed cycle


def test_avoid_skips_values_when_possible():
    rot = Rotation(["a", "b"], random.Random(0))
    for _ in range(20):
        x = rot.next()
        assert rot.next(avoid={x}) != x or len(rot) == 1


def test_empty_pool_is_an_error():
    with pytest.raises(ValueError, match="empty pool"):
        Rotation([], random.Random(0))
