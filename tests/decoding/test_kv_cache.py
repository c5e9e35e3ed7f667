"""GrowingCache against transformers' DynamicCache: the same keys and values after every operation the
fast engine uses (appends of varying width past the initial capacity, repeat for the shared prefix, row
selection, crop), and appends that write in place instead of copying the cache."""

from __future__ import annotations

import torch
from transformers import DynamicCache

from decoding.kv_cache import MIN_CAPACITY, GrowingCache


def _kv(batch: int, width: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.randn(batch, 3, width, 8, generator=gen), torch.randn(batch, 3, width, 8, generator=gen))


def _same(a: DynamicCache, b: GrowingCache, layers: int) -> None:
    assert a.get_seq_length() == b.get_seq_length()
    for i in range(layers):
        assert torch.equal(a.layers[i].keys, b.layers[i].keys)
        assert torch.equal(a.layers[i].values, b.layers[i].values)


def test_growing_cache_holds_what_dynamic_cache_holds() -> None:
    gen = torch.Generator().manual_seed(0)
    ref, new = DynamicCache(), GrowingCache()
    layers = 2
    for i in range(layers):  # a shared prefix of one row, then repeated to four rows
        k, v = _kv(1, 11, gen)
        ref.update(k, v, i)
        new.update(k, v, i)
    ref.batch_repeat_interleave(4)
    new.batch_repeat_interleave(4)
    _same(ref, new, layers)
    batch = 4
    for step, width in enumerate([9, 1, 3, 1, 1, 8, 1, 40, 2, 1, 70, 1]):  # 149 positions: grows past 64 twice
        for i in range(layers):
            k, v = _kv(batch, width, gen)
            out_ref, out_new = ref.update(k, v, i), new.update(k, v, i)
            assert torch.equal(out_ref[0], out_new[0]) and torch.equal(out_ref[1], out_new[1])
        if step == 4:  # rows 0 and 2 finish
            keep = torch.tensor([1, 3])
            ref.batch_select_indices(keep)
            new.batch_select_indices(keep)
            batch = 2
        _same(ref, new, layers)
    assert new.get_seq_length() == 11 + 138 > 2 * MIN_CAPACITY
    ref.crop(-5)
    new.crop(-5)
    _same(ref, new, layers)


def test_an_append_within_capacity_writes_in_place() -> None:
    gen = torch.Generator().manual_seed(1)
    cache = GrowingCache()
    cache.update(*_kv(2, 10, gen), 0)
    layer = cache.layers[0]
    buffer = layer._k.data_ptr()
    for _ in range(5):
        cache.update(*_kv(2, 1, gen), 0)
    # DynamicCache's torch.cat allocates a new tensor at every step; here the same buffer fills up.
    assert layer._k.data_ptr() == buffer and layer.keys.data_ptr() == buffer
    assert cache.get_seq_length() == 15
