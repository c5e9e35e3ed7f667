"""synth.backends.grammar: frames in, span-exact queries out; deterministic and order-independent."""

from __future__ import annotations

import pytest

from schemas import load_taxonomy
from synth.backends.grammar import GrammarBackend
from synth.noise import NoiseConfig
from synth.templates import DEFAULT_GRAMMAR, Grammar, Template
from synth.types import Frame, Slot

TAX = load_taxonomy()
LOUD = NoiseConfig(typo=0.5, filler=0.3, uppercase_all=0.1)


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return Grammar.load(DEFAULT_GRAMMAR, TAX)


def frame_for(t: Template, fid: str) -> Frame:
    slots = []
    for s in t.slots:
        ex = TAX.entity_types[s.type].examples
        slots.append(Slot(s.name, s.type, ex[1 % len(ex)] if s.name[-1].isdigit() else ex[0]))
    return Frame(id=fid, intent=t.intent, template_id=t.id, slots=tuple(slots), split="train")


@pytest.fixture(scope="module")
def frames(grammar) -> list[Frame]:
    # Every template three times, under different frame ids.
    return [frame_for(t, f"f{i:05d}") for i, t in enumerate(list(grammar.templates.values()) * 3)]


def test_every_frame_becomes_a_span_exact_query(grammar, frames):
    backend = GrammarBackend(grammar, LOUD, seed=13)
    assert backend.name == "grammar"
    out = list(backend.realize(iter(frames)))
    assert len(out) == len(frames) == 3 * len(grammar.templates)
    for r in out:
        assert r.error is None and r.query, r
        assert all(r.query[e["start"]:e["end"]] == e["value"] for e in r.entities)
        slots = r.frame.slots
        assert [(e["type"], e["value"].lower()) for e in r.entities] == [(s.type, s.value.lower()) for s in slots]


def test_output_depends_on_seed_and_frame_only(grammar, frames):
    a = {r.frame.id: (r.query, r.entities) for r in GrammarBackend(grammar, LOUD, 13).realize(frames)}
    b = {r.frame.id: (r.query, r.entities) for r in GrammarBackend(grammar, LOUD, 13).realize(frames[::-1])}
    c = {r.frame.id: r.query for r in GrammarBackend(grammar, LOUD, 14).realize(frames)}
    assert a == b
    assert sum(a[k][0] != c[k] for k in a) > len(a) // 2


def test_bad_frames_become_errors_not_exceptions(grammar):
    t = next(t for t in grammar.templates.values() if len(t.slots) >= 2)
    good = frame_for(t, "ok")
    other_intent = next(i for i in TAX.intent_names if i != t.intent)
    wrong_type = next(n for n in TAX.entity_names if n != good.slots[0].type)
    bad = [
        Frame("a", t.intent, "no-such-template", good.slots, "train"),
        Frame("b", other_intent, t.id, good.slots, "train"),
        Frame("c", t.intent, t.id, good.slots[1:], "train"),
        Frame("d", t.intent, t.id, (Slot(good.slots[0].name, wrong_type, "x"), *good.slots[1:]), "train"),
        Frame("e", t.intent, t.id, (*good.slots, Slot("extra", wrong_type, "x")), "train"),
    ]
    out = {r.frame.id: r for r in GrammarBackend(grammar, NoiseConfig(), 0).realize([*bad, good])}
    reasons = {k: (r.error or "").split(":")[0] for k, r in out.items()}
    assert reasons == {"a": "unknown template", "b": "intent mismatch", "c": "slot values",
                       "d": "slot type mismatch", "e": "slot values", "ok": ""}
    assert all(out[k].query is None for k in "abcde") and out["ok"].query


def test_misspelled_entities_become_the_gold_value_and_pass_verification(grammar, frames):
    from synth.verify import Verifier

    noisy = NoiseConfig(entity_typo=1.0, strip_punctuation=0.5)
    backend = GrammarBackend(grammar, noisy, seed=13, closed=TAX.closed_types)
    verifier = Verifier(TAX, "grammar")
    respelled = kept = 0
    for r in backend.realize(iter(frames[:400])):
        rec = verifier(r)
        assert rec is not None, (verifier.rejections, r.query)
        kept += 1
        original = {s.value.lower() for s in frames[int(r.frame.id[1:]) % len(frames)].slots}
        respelled += any(e["value"].lower() not in original for e in rec["entities"])
        assert all(rec["query"][e["start"]:e["end"]] == e["value"] for e in rec["entities"])
    assert kept == 400 and respelled > 300


def test_records_name_the_noise_they_got_down_to_the_parquet_column(grammar, frames, tmp_path):
    """meta.noise lists the transforms that changed a query (audited by diversity_noise_transforms.sql)."""
    import pyarrow.parquet as pq

    from synth.verify import Verifier
    from synth.writer import write_dataset

    backend = GrammarBackend(grammar, NoiseConfig(typo=0.5, disfluency=0.5, chatter=0.3, lowercase_all=0.5), seed=5)
    verifier = Verifier(TAX, "grammar")
    records = [r for r in map(verifier, backend.realize(iter(frames[:200]))) if r is not None]
    seen = {n for r in records for n in r["meta"].get("noise", [])}
    assert {"typo", "disfluency", "chatter", "lowercase_all"} <= seen <= {*NoiseConfig().to_dict(), "lowercase_all"}
    assert any("noise" not in r["meta"] for r in records)  # untouched queries carry no key
    write_dataset(tmp_path, records, "sys", {"name": "t", "seed": 5, "config": {}})
    column = pq.read_table(tmp_path / "train.parquet").column("noise").to_pylist()
    assert column == [r["meta"].get("noise", []) for r in records]
