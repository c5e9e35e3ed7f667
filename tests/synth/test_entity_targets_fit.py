"""entity_targets_mode: fit (synth/frames.py): template weights raised until each entity type's expected
share of records meets its target (the default since 2026-12-03); warn leaves the grammar's weights alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from synth.config import load_data_config
from synth.frames import FrameSampler, expected_shares, fit_template_weights
from synth.kg import load_kg
from synth.pipeline import build_dataset
from synth.templates import Grammar

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "recipes/data/default.yml"
PEOPLE_TARGETS = {"actor": 0.24, "director": 0.14, "character": 0.18}


def sampler(**over) -> FrameSampler:
    cfg = load_data_config(DEFAULT, over)
    return FrameSampler(load_kg(Path(cfg.kg), cfg.tax), Grammar.load(ROOT / "synth/grammar", cfg.tax), cfg)


def sampled_shares(s: FrameSampler, n: int) -> dict[str, float]:
    """Shares of train frames naming each type, drawn as the pipeline draws them (intents at their shares)."""
    counts = {i: {"train": round(n * share)} for i, share in s.cfg.intents.items()}
    frames = list(s.sample(counts, 0))
    named = Counter(t for f in frames for t in {slot.type for slot in f.slots})
    return {t: c / len(frames) for t, c in named.items()}


def test_expected_shares_are_what_sampling_gives() -> None:
    """The fit's model of the sampler: expected shares agree with 20,000 frames drawn, before and after."""
    for mode in ("warn", "fit"):
        s = sampler(entity_targets_mode=mode, entity_targets=PEOPLE_TARGETS)
        want = expected_shares(s.part.templates[False], s.cfg.intents, s.weight_factors[False])
        got = sampled_shares(s, 20_000)
        for etype in PEOPLE_TARGETS:
            assert got[etype] == pytest.approx(want[etype], abs=0.012), (mode, etype)


def test_fit_meets_reachable_targets_and_leaves_weights_alone_in_warn_mode() -> None:
    warn = sampler(entity_targets_mode="warn")
    assert warn.weight_factors == {False: {}, True: {}} and warn.fit_summary() is None
    s = sampler(entity_targets_mode="fit", entity_targets=PEOPLE_TARGETS)
    for held in (False, True):
        after = expected_shares(s.part.templates[held], s.cfg.intents, s.weight_factors[held])
        for etype, target in PEOPLE_TARGETS.items():
            assert after[etype] >= target * 0.999, (held, etype)
        assert s.weight_factors[held] and max(s.weight_factors[held].values()) <= 20.0
    summary = s.fit_summary()
    assert summary["expected_share_train"]["director"]["before"] < 0.1 <= \
        summary["expected_share_train"]["director"]["after"]


def test_a_target_no_template_can_reach_stays_short_without_running_away() -> None:
    """A type in too few templates cannot reach 0.9 of records: weights stop at max_factor, the others
    keep their relative order, and the function returns (balance_report then warns)."""
    s = sampler()
    pools = s.part.templates[False]
    factors = fit_template_weights(pools, s.cfg.intents, {"director": 0.9}, max_factor=5.0)
    assert factors and max(factors.values()) == pytest.approx(5.0)
    assert expected_shares(pools, s.cfg.intents, factors)["director"] < 0.9
    assert all(any(slot.type == "director" for slot in t.slots)
               for pool in pools.values() for t in pool if t.id in factors)


def test_fit_is_reproducible_and_reported_in_the_manifest(tmp_path: Path) -> None:
    over = {"n": 400, "entity_targets_mode": "fit", "entity_targets": PEOPLE_TARGETS}
    a = build_dataset(load_data_config(DEFAULT, {**over, "out": str(tmp_path / "a")}), progress=False)
    b = build_dataset(load_data_config(DEFAULT, {**over, "out": str(tmp_path / "b")}), progress=False)
    assert (tmp_path / "a/train.jsonl").read_bytes() == (tmp_path / "b/train.jsonl").read_bytes()
    fit = a["entity_targets_fit"]
    assert fit == b["entity_targets_fit"] and fit["expected_share_train"]["character"]["target"] == 0.18
    plain = build_dataset(load_data_config(DEFAULT, {"n": 400, "entity_targets_mode": "warn",
                                                     "out": str(tmp_path / "c")}), progress=False)
    assert plain["entity_targets_fit"] is None
    assert plain["counts"]["by_entity_type"]["director"] < a["counts"]["by_entity_type"]["director"]
