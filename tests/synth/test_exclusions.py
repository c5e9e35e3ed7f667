"""synth.exclusions: the recipe section, the draw, and what the default data holds (one full `make data`)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from schemas import ConfigError, load_taxonomy
from synth.config import load_data_config
from synth.exclusions import Excluder, ExclusionConfig, decade, exclusion_config, skipped_reason
from synth.frames import FrameSampler, split_counts, title_values
from synth.kg import load_kg
from synth.pipeline import build_dataset
from synth.templates import Grammar

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "recipes/data/default.yml"
TAX = load_taxonomy()
SPLITS = ("train", "validation", "test", "heldout")
NEGATIVE = re.compile(r"\b(not|no|nothing|never|(do|does|ca|is|would)n'?t)\b", re.I)


def read(out: Path) -> list[dict]:
    return [json.loads(line) for s in SPLITS if (out / f"{s}.jsonl").exists()
            for line in (out / f"{s}.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def default_data(tmp_path_factory) -> tuple[Path, dict]:
    """The default recipe exactly as `make data` runs it (20,000 records)."""
    out = tmp_path_factory.mktemp("excl") / "default"
    cfg = load_data_config(DEFAULT, {"out": str(out)})
    return out, build_dataset(cfg, progress=False)


# ---- the recipe section -------------------------------------------------------------------------

@pytest.mark.parametrize("section, expected", [
    ({"share": 1.2, "intents": ["recommend"]}, "exclusions.share: must be a number in [0, 1], got 1.2"),
    ({"share": "0,15", "intents": ["recommend"]}, "exclusions.share: must be a number in [0, 1], got '0,15'"),
    ({"share": 0.7, "lookalike_share": 0.5, "intents": ["recommend"]},
     "exclusions: share + lookalike_share must be <= 1"),
    ({"share": 0.1, "intents": ["recomend"]}, "exclusions.intents: unknown intent 'recomend' (did you mean "
                                             "'recommend'?)"),
    ({"share": 0.1, "intents": ["out_of_scope"]}, "exclusions.intents: intent 'out_of_scope' allows no entities"),
    ({"share": 0.1, "intents": "recommend"}, "exclusions.intents: must be a list of intent names"),
    ({"share": 0.1, "intents": []}, "exclusions.intents: name at least one intent"),
    ({"share": 0.1, "intents": ["recommend", "recommend"]}, "exclusions.intents: lists an intent twice"),
    ({"share": 0.1, "intents": ["recommend"], "per_query": [2, 1]}, "exclusions.per_query: must be [min, max]"),
    ({"share": 0.1, "intents": ["recommend"], "per_query": [1, 9]}, "exclusions.per_query: must be [min, max]"),
    ({"share": 0.1, "intents": ["recommend"], "shares": 1}, "exclusions: unknown key 'shares' (did you mean "
                                                           "'share'?)"),
    ("lots", "exclusions: must be a mapping"),
])
def test_bad_sections_are_one_line_each_naming_file_and_key(section, expected):
    with pytest.raises(ConfigError) as err:
        load_data_config(DEFAULT, {"exclusions": section})
    matching = [p for p in err.value.problems if expected in p]
    assert matching and all(p.startswith(str(DEFAULT)) and "\n" not in p for p in matching), err.value.problems


def test_absent_section_is_off_and_resolved_in_the_manifest_config():
    assert not ExclusionConfig.from_mapping(None, TAX).on
    assert not ExclusionConfig.from_mapping({"share": 0, "intents": []}, TAX).on
    cfg = load_data_config(DEFAULT)
    assert cfg.resolved()["exclusions"] == {"share": 0.15, "intents": ["recommend", "find_title", "similar_to"],
                                           "per_query": [1, 2], "lookalike_share": 0.05}


def test_an_llm_backend_is_never_handed_exclusions_and_says_so():
    cfg = load_data_config(DEFAULT)
    assert exclusion_config(cfg).on and skipped_reason(cfg) is None
    llm = replace(cfg, backend="openai")
    assert not exclusion_config(llm).on
    assert "not applied with backend openai" in (skipped_reason(llm) or "")


# ---- the draw ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("1994", 1990), ("the 1990s", 1990), ("the late 90s", 1990),
                                             ("the mid-80s", 1980), ("the nineties", 1990), ("the noughties", 2000),
                                             ("the early 2000s", 2000), ("2019", 2010), ("last year", None)])
def test_decade(value, expected):
    assert decade(value) == expected


def test_clashes_keep_exclusions_from_contradicting_the_frame():
    ex = Excluder(ExclusionConfig(), {False: [], True: []}, TAX, 1)
    genre, year, actor = (TAX.type_for_source(p) for p in ("genre", "year", "actor"))
    assert ex.clashes(genre, "horror", [(genre, "Horror")])                # the same value
    assert ex.clashes(genre, "comedy", [(genre, "dark comedy")])           # inside another value
    assert ex.clashes(genre, "rom-com", [(genre, "romantic comedy")])      # one canonical value
    assert ex.clashes(year, "the 90s", [(year, "1994")])                   # one decade
    assert ex.clashes(actor, "Tom Hanks", [(actor, "tom hanks")])
    assert not ex.clashes(genre, "horror", [(genre, "western"), (year, "1994")])
    assert not ex.clashes(year, "the 80s", [(year, "1994")])


def frames_with(share: float, lookalike: float = 0.0, seed: int = 13):
    section = {"share": share, "intents": ["recommend", "find_title", "similar_to"], "per_query": [1, 2],
               "lookalike_share": lookalike}
    cfg = load_data_config(DEFAULT, {"seed": seed, "exclusions": section})
    grammar = Grammar.load(ROOT / "synth/grammar", cfg.tax)
    sampler = FrameSampler(load_kg(Path(cfg.kg), cfg.tax), grammar, cfg)
    return sampler, list(sampler.sample({i: split_counts(500, cfg) for i in cfg.intents}, 0))


def test_turning_exclusions_on_leaves_every_frames_template_and_wishes_alone():
    _, off = frames_with(0.0)
    _, on = frames_with(0.5, 0.2)
    assert [f.id for f in off] == [f.id for f in on]
    assert any(f.clauses for f in on) and not any(f.clauses for f in off)
    for a, b in zip(off, on, strict=True):
        assert (a.template_id, a.seed_title, a.slots) == (b.template_id, b.seed_title,
                                                          tuple(s for s in b.slots if not s.exclude))


def test_excluded_slots_are_named_by_their_clause_and_sit_before_or_after_the_template():
    sampler, frames = frames_with(1.0)
    eligible = [f for f in frames if f.intent in sampler.exclusions.intents]
    assert eligible and all(f.clauses for f in eligible)
    for f in frames:
        clauses = [sampler.grammar.clauses[c] for c in f.clauses]
        assert [c.where for c in clauses] == sorted((c.where for c in clauses), key=("before", "after").index)
        names = [s.name for s in f.slots]
        before = [c.id for c in clauses if c.where == "before"]
        after = [c.id for c in clauses if c.where == "after"]
        assert names[:len(before)] == before and names[len(names) - len(after):] == after
        assert all(s.exclude == (s.name in f.clauses) for s in f.slots)
        assert 1 <= len(f.clauses) <= 2 or f.intent not in sampler.exclusions.intents


# ---- the default data (one full make data) ---------------------------------------------------------

def test_default_data_rules_out_a_share_of_eligible_records_with_exact_spans(default_data):
    out, manifest = default_data
    records = read(out)
    ex = manifest["config"]["exclusions"]
    eligible = [r for r in records if r["intent"] in ex["intents"]]
    excluding = [r for r in eligible if any(e.get("exclude") for e in r["entities"])]
    assert abs(len(excluding) / len(eligible) - ex["share"]) < 0.02, len(excluding) / len(eligible)
    assert not [r for r in records if r["intent"] not in ex["intents"] and any(e.get("exclude")
                                                                                for e in r["entities"])]
    for r in excluding:
        ents = r["entities"]
        assert all(r["query"][e["start"]:e["end"]] == e["value"] for e in ents), r
        assert all(a["end"] <= b["start"] for a, b in zip(ents, ents[1:], strict=False)), r  # query order
        assert all(e["exclude"] is True for e in ents if "exclude" in e)
        assert len(r["meta"]["exclusion_clauses"]) == sum(bool(e.get("exclude")) for e in ents)
        target = json.loads(next(m["content"] for m in chat_example(r)["messages"] if m["role"] == "assistant"))
        assert [bool(e.get("exclude")) for e in target["entities"]] == [bool(e.get("exclude")) for e in ents]
    assert set(manifest["counts"]["exclusions"]["by_type"]) == set(TAX.excludable)
    assert manifest["counts"]["exclusions"]["records_with_exclusions"] == len(excluding)


def chat_example(r: dict) -> dict:
    from synth.writer import chat_example as write

    return write(r, "")


def test_an_excluded_value_is_never_a_seed_fact_nor_another_value_of_the_record(default_data):
    out, _ = default_data
    cfg = load_data_config(DEFAULT)
    kg = load_kg(Path(cfg.kg), cfg.tax)
    facts = {t.title: {v.lower() for et in TAX.entity_types.values() for v in title_values(t, et.source)}
             for t in kg.titles}
    checked = 0
    for r in read(out):
        excluded = [e for e in r["entities"] if e.get("exclude")]
        wished = {e["value"].lower() for e in r["entities"] if not e.get("exclude")}
        for e in excluded:
            value = e["value"].lower()
            assert value not in wished, r
            if r["meta"]["seed_title"] and "entity_typo" not in r["meta"].get("noise", []):
                assert value not in facts[r["meta"]["seed_title"]], r
            checked += 1
    assert checked > 2000


def test_heldout_exclusion_phrasings_are_never_seen_in_train(default_data):
    out, manifest = default_data
    records = read(out)
    used = {s: {c for r in records if r["split"] == s for k in ("exclusion_clauses", "lookalike_clauses")
                for c in r["meta"].get(k, [])} for s in SPLITS}
    assert used["heldout"] and used["train"]
    assert not used["heldout"] & (used["train"] | used["validation"] | used["test"])
    assert used["heldout"] <= set(manifest["heldout_partition"]["clauses"])
    # heldout rules out values with phrasings of its own for most types
    held_types = {e["type"] for r in records if r["split"] == "heldout" for e in r["entities"] if e.get("exclude")}
    assert len(held_types) >= len(TAX.excludable) - 2


def test_lookalikes_rule_nothing_out_and_carry_a_negative_word(default_data):
    out, manifest = default_data
    looks = [r for r in read(out) if r["meta"].get("lookalike_clauses")]
    assert 0.02 < len(looks) / manifest["counts"]["records"] < 0.05
    assert not [r for r in looks if any(e.get("exclude") for e in r["entities"])]
    assert sum(bool(NEGATIVE.search(r["query"])) for r in looks) > 0.9 * len(looks)


def test_default_data_has_no_closed_value_its_lexicon_refuses(default_data):
    out, manifest = default_data
    assert not {k: v for k, v in manifest["rejections"].items() if k.startswith("lexicon_refused")}
    closed = TAX.closed_types
    refused = Counter(e["type"] for r in read(out) for e in r["entities"]
                      if e["type"] in closed and not closed[e["type"]].accepts(e["value"]))
    assert not refused, refused


def test_manifest_counts_excluded_entities_per_type_and_clause(default_data):
    out, manifest = default_data
    ex = manifest["counts"]["exclusions"]
    records = read(out)
    by_clause = Counter(c for r in records for k in ("exclusion_clauses", "lookalike_clauses")
                        for c in r["meta"].get(k, []))
    assert ex["by_clause"] == dict(sorted(by_clause.items()))
    assert sum(ex["by_type"].values()) == ex["excluded_entities"] == sum(ex["by_split"].values())
    assert ex["records_with_lookalikes"] == sum(bool(r["meta"].get("lookalike_clauses")) for r in records)
