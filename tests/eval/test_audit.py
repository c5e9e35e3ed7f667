"""The dataset audit: one given/expect fixture per SQL file, then the CLI on unbalanced and leaky datasets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from audit.__main__ import main as audit_main
from audit.config import DEFAULT_CONFIG, load_audit_config
from audit.db import connect
from audit.run import run_audit
from audit.sqlfiles import SQL_DIR, parse_header, run_file
from schemas import ConfigError, load_taxonomy
from synth.kg import CastMember, TitleFacts
from synth.writer import write_dataset

TAX = load_taxonomy()


def rec(rid: str, split: str, intent: str, query: str, ents=(), tpl: str = "t1", seed: str | None = None,
        noise: list[str] | None = None, clauses: dict[str, list[str]] | None = None) -> dict:
    """A record with spans found in the query: ents = [(type, value), ...] or (type, value, True) for a
    value ruled out, each value occurring once; clauses = {"exclusion_clauses": [...], ...} into meta."""
    spans = []
    for etype, value, *excluded in ents:
        start = query.index(value)
        spans.append({"type": etype, "value": value, "start": start, "end": start + len(value),
                      **({"exclude": True} if excluded and excluded[0] else {})})
    meta = {"template_id": tpl, "backend": "grammar", "seed_title": seed, **(clauses or {})}
    if noise:
        meta["noise"] = noise
    return {"id": rid, "query": query, "intent": intent, "entities": spans, "split": split, "meta": meta}


def dataset(path: Path, records: list[dict], intents: dict | None = None, entity_targets: dict | None = None) -> Path:
    config = {"intents": intents or {}, "entity_targets": entity_targets or {}}
    write_dataset(path, records, "sys", {"name": path.name, "seed": 1, "config": config})
    return path


def title(name: str, year: int, media: str, language: str, genres: list[str], directors=(), cast=()) -> TitleFacts:
    return TitleFacts(title=name, year=year, media_type=media, language=language, genres=tuple(genres),
                      directors=tuple(directors), cast=tuple(CastMember(a, c) for a, c in cast))


def run_one(tmp_path: Path, name: str, records: list[dict], *, intents=None, entity_targets=None, kg=None,
            params: dict | None = None, threshold: float | None = None) -> list[dict[str, Any]]:
    """Run one audit SQL file over `records`; its rows as dicts."""
    cfg = load_audit_config()
    cfg.params.update(params or {})
    con = connect(dataset(tmp_path / "ds", records, intents, entity_targets), TAX, cfg, kg)
    f = parse_header(SQL_DIR / f"{name}.sql")
    if threshold is not None:
        f.threshold = threshold
    result = run_file(con, f)
    assert result.error is None, result.error
    return result.records()


def assert_rows(got: list[dict], expect: list[dict]) -> None:
    """Same number of rows, in order; each expected key equal (floats to the 3 decimals the SQL rounds to)."""
    assert len(got) == len(expect), f"{len(got)} rows: {got}"
    for g, e in zip(got, expect, strict=True):
        for key, value in e.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, abs=1e-3), (key, g)
            else:
                assert g[key] == value, (key, g)


# ---- one given/expect case per SQL file ---------------------------------------------------------------

BALANCE = [rec("a", "train", "recommend", "any horror", [("genre", "horror"), ("genre", "any")]),
           rec("b", "train", "recommend", "some comedy", [("genre", "comedy")]),
           rec("c", "test", "recommend", "something good"),
           rec("d", "train", "play", "play Up with Ed Asner", [("title", "Up"), ("actor", "Ed Asner")])]
INTENT_TARGETS = {"recommend": 0.5, "play": 0.5, "find_title": 0.1}


def case_balance_intent_vs_target(tmp_path):
    got = run_one(tmp_path, "balance_intent_vs_target", BALANCE, intents=INTENT_TARGETS)
    expect = {"recommend": {"n_records": 3, "share": 0.75, "target": 0.5, "ratio": 1.5},
              "play": {"n_records": 1, "share": 0.25, "target": 0.5, "ratio": 0.5},
              "find_title": {"n_records": 0, "share": 0.0, "target": 0.1, "ratio": 0.0}}
    blank = {"n_records": 0, "share": 0.0, "target": None, "ratio": None}
    assert_rows(got, [{"label": i, **expect.get(i, blank)} for i in TAX.intent_names])


def case_balance_entity_type_vs_target(tmp_path):
    got = run_one(tmp_path, "balance_entity_type_vs_target", BALANCE, entity_targets={"genre": 0.5, "actor": 0.5})
    expect = {"genre": {"n_records": 2, "mentions": 3, "share": 0.5, "target": 0.5, "ratio": 1.0},
              "actor": {"n_records": 1, "mentions": 1, "share": 0.25, "target": 0.5, "ratio": 0.5},
              "title": {"n_records": 1, "mentions": 1, "share": 0.25, "target": None, "ratio": None}}
    blank = {"n_records": 0, "mentions": 0, "share": 0.0, "target": None}
    assert_rows(got, [{"label": t, **expect.get(t, blank)} for t in TAX.entity_names])


def case_check_intent_below_target(tmp_path):
    got = run_one(tmp_path, "check_intent_below_target", BALANCE, intents=INTENT_TARGETS)
    # recommend is above target; an intent without a target is never checked
    assert_rows(got, [{"label": "find_title", "n_records": 0}, {"label": "play", "ratio": 0.5}])


def case_check_entity_type_below_target(tmp_path):
    got = run_one(tmp_path, "check_entity_type_below_target", BALANCE,
                  entity_targets={"genre": 0.5, "actor": 0.5, "mood": 0.1})
    assert_rows(got, [{"label": "actor", "share": 0.25}, {"label": "mood", "n_records": 0}])  # genre: on target


VALUES = [rec("a", "train", "recommend", "Horror or comedy", [("genre", "Horror"), ("genre", "comedy")]),
          rec("b", "train", "recommend", "horror please", [("genre", "horror")]),
          rec("c", "test", "recommend", "the horror!", [("genre", "horror!")]),
          rec("d", "test", "recommend", "drama on Netflix", [("genre", "drama"), ("platform", "Netflix")]),
          rec("e", "test", "recommend", "more horror", [("genre", "horror")])]


def case_values_top_per_type(tmp_path):
    got = run_one(tmp_path, "values_top_per_type", VALUES, params={"top_values": 2})
    assert_rows(got, [
        {"type": "genre", "value_rank": 1, "value": "horror", "mentions": 4, "share": 4 / 6},  # 3 spellings, one value
        {"type": "genre", "value_rank": 2, "value": "comedy", "mentions": 1, "share": 1 / 6},
        {"type": "platform", "value_rank": 1, "value": "Netflix", "mentions": 1, "share": 1.0}])


def case_values_long_tail(tmp_path):
    got = run_one(tmp_path, "values_long_tail", VALUES, params={"top_values": 1})
    assert_rows(got, [
        {"type": "genre", "mentions": 6, "distinct_values": 3, "top1_share": 4 / 6, "top_share": 4 / 6,
         "long_tail_share": 2 / 6, "singleton_value_share": 2 / 3},
        {"type": "platform", "mentions": 1, "distinct_values": 1, "long_tail_share": 0.0}])


LENGTHS = [rec("a", "train", "recommend", "two  words"), rec("b", "train", "recommend", " four words in here "),
           rec("c", "test", "recommend", "three words here")]


def case_length_summary(tmp_path):
    got = run_one(tmp_path, "length_summary", LENGTHS)
    assert_rows(got, [
        {"split": "test", "n_records": 1, "tokens_min": 3, "tokens_max": 3},
        {"split": "train", "n_records": 2, "tokens_min": 2, "tokens_median": 3.0, "tokens_mean": 3.0, "tokens_max": 4},
        {"split": "all", "n_records": 3, "tokens_min": 2, "tokens_median": 3.0, "tokens_max": 4}])


def case_length_histogram(tmp_path):
    got = run_one(tmp_path, "length_histogram", LENGTHS)
    assert_rows(got, [{"split": "test", "n_tokens": 3, "n_records": 1},
                      {"split": "train", "n_tokens": 2, "n_records": 1},
                      {"split": "train", "n_tokens": 4, "n_records": 1}])


def case_diversity_distinct_ngrams(tmp_path):
    got = run_one(tmp_path, "diversity_distinct_ngrams",
                  [rec("a", "train", "recommend", "A, b a!"), rec("b", "train", "recommend", "a b")])
    # unigrams a b a a b: 2 of 5; bigrams "a b" "b a" "a b": 2 of 3; trigram "a b a": 1 of 1
    per_n = [{"n": 1, "n_ngrams": 5, "distinct_ngrams": 2, "distinct_ratio": 0.4},
             {"n": 2, "n_ngrams": 3, "distinct_ngrams": 2},
             {"n": 3, "n_ngrams": 1, "distinct_ratio": 1.0}]
    assert_rows(got, [{"split": "train", **r} for r in per_n] + [{"split": "all", **r} for r in per_n])


CONCENTRATION = ([rec(f"r{i}", "train", "recommend", f"q{i}", tpl="rec1") for i in range(8)]
                 + [rec("r8", "train", "recommend", "q8", tpl="rec2"), rec("r9", "train", "recommend", "q9", tpl="rec3"),
                    rec("p0", "train", "play", "p0", tpl="play1"), rec("p1", "train", "play", "p1", tpl="play2")])


def case_diversity_template_concentration(tmp_path):
    got = run_one(tmp_path, "diversity_template_concentration", CONCENTRATION)
    assert_rows(got, [{"scope": "play", "n_templates": 2, "top_templates": 1, "n_records": 2, "top_share": 0.5},
                      {"scope": "recommend", "n_templates": 3, "top_templates": 1, "top_share": 0.8},
                      {"scope": "all", "n_templates": 5, "top_templates": 1, "n_records": 12, "top_share": 8 / 12}])


def case_check_template_concentration(tmp_path):
    got = run_one(tmp_path, "check_template_concentration", CONCENTRATION)
    assert_rows(got, [{"scope": "recommend", "top_share": 0.8}, {"scope": "all"}])  # play at 0.5 is not above


def case_check_exact_duplicates(tmp_path):
    got = run_one(tmp_path, "check_exact_duplicates", [
        rec("a", "train", "play", "play Up", [("title", "Up")]), rec("b", "test", "play", "play Up", [("title", "Up")]),
        rec("c", "train", "recommend", "play Up"), rec("d", "train", "play", "play Cars", [("title", "Cars")])])
    assert_rows(got, [{"query": "play Up", "n_records": 3, "n_labelings": 2, "splits": "test,train", "first_id": "a"}])


def case_check_near_duplicates(tmp_path):
    got = run_one(tmp_path, "check_near_duplicates", [
        rec("a", "train", "recommend", "any fantasy movies please", [("genre", "fantasy")]),
        rec("b", "train", "recommend", "any fantasy movie please", [("genre", "fantasy")]),
        rec("c", "train", "recommend", "ANY FANTASY MOVIES PLEASE", [("genre", "FANTASY")]),  # same text: exact, not near
        rec("d", "train", "recommend", "fantasy films for tonight", [("genre", "fantasy")]),
        rec("e", "train", "recommend", "any horror movies please", [("genre", "horror")])])  # other values
    assert_rows(got, [{"id_a": "a", "id_b": "b", "similarity": 1 - 1 / 25},
                      {"id_a": "b", "id_b": "c", "similarity": 1 - 1 / 25}])


def case_check_leakage_exact_query(tmp_path):
    got = run_one(tmp_path, "check_leakage_exact_query", [
        rec("a", "train", "play", "play Up", [("title", "Up")]), rec("b", "test", "play", "play Up", [("title", "Up")]),
        rec("c", "test", "play", "play Cars", [("title", "Cars")]),
        rec("d", "heldout", "play", "play Up ", [("title", "Up")]),
        rec("e", "validation", "play", "play Up", [("title", "Up")])])  # validation is not checked
    assert_rows(got, [{"split": "heldout", "id": "d", "split_leaked_share": 1.0},
                      {"split": "test", "id": "b", "query": "play Up", "split_leaked_share": 0.5}])


def case_check_leakage_normalized_query(tmp_path):
    got = run_one(tmp_path, "check_leakage_normalized_query", [
        rec("a", "train", "play", "Play Up!", [("title", "Up")]),
        rec("b", "test", "play", "play  up", [("title", "up")]),
        rec("c", "test", "play", "play Cars", [("title", "Cars")])])
    assert_rows(got, [{"split": "test", "id": "b", "train_query": "Play Up!", "split_leaked_share": 0.5}])


def case_check_leakage_heldout_seeds(tmp_path):
    got = run_one(tmp_path, "check_leakage_heldout_seeds", [
        rec("a", "train", "play", "play Up with Ed Asner", [("title", "Up"), ("actor", "Ed Asner")], seed="Up"),
        rec("b", "train", "recommend", "some horror", [("genre", "horror")]),
        rec("h1", "heldout", "play", "play up", [("title", "up")], seed="Up"),
        rec("h2", "heldout", "recommend", "horror with Meryl Streep", [("genre", "horror"), ("actor", "Meryl Streep")]),
        rec("h3", "heldout", "recommend", "films with ed asner", [("actor", "ed asner")])])
    # genre is not a seed type: sharing 'horror' is fine
    assert_rows(got, [{"kind": "seed_title", "type": None, "value": "Up", "heldout_records": 1},
                      {"kind": "value", "type": "actor", "value": "ed asner", "heldout_records": 1},
                      {"kind": "value", "type": "title", "value": "up", "heldout_records": 1,
                       "heldout_leaked_share": 2 / 3}])


def case_check_leakage_heldout_templates(tmp_path):
    got = run_one(tmp_path, "check_leakage_heldout_templates", [
        rec("a", "train", "play", "q1", tpl="t1"), rec("b", "train", "play", "q2", tpl="t2"),
        rec("c", "heldout", "play", "q3", tpl="t1"), rec("d", "heldout", "play", "q4", tpl="t1"),
        rec("e", "heldout", "play", "q5", tpl="t9")])
    assert_rows(got, [{"template_id": "t1", "heldout_records": 2, "heldout_leaked_share": 2 / 3}])


# Heldout wording vs train wording, spans as {type}: h1 is train's phrasing exactly (other values), h2 a
# one-letter typo of it (similarity 2*25/51 = 0.98), h3 an unrelated phrasing.
PHRASING = [rec("a", "train", "play", "play Up on Netflix", [("title", "Up"), ("platform", "Netflix")], tpl="p1"),
            rec("b", "train", "recommend", "any horror films please", [("genre", "horror")], tpl="r1"),
            rec("h1", "heldout", "play", "Play Heat on Hulu", [("title", "Heat"), ("platform", "Hulu")], tpl="p9"),
            rec("h2", "heldout", "play", "pla Ran on Max", [("title", "Ran"), ("platform", "Max")], tpl="p8"),
            rec("h3", "heldout", "find_title", "what was that movie with the shark", tpl="f9")]


def case_check_leakage_heldout_phrasing(tmp_path):
    got = run_one(tmp_path, "check_leakage_heldout_phrasing", PHRASING)
    assert_rows(got, [{"phrasing": "play {title} on {platform}", "train_phrasing": "play {title} on {platform}",
                       "similarity": 1.0, "kind": "exact", "heldout_records": 1, "heldout_leaked_share": 2 / 3},
                      {"phrasing": "pla {title} on {platform}", "similarity": 2 * 25 / 51, "kind": "near"}])
    assert run_one(tmp_path / "strict", "check_leakage_heldout_phrasing", PHRASING,
                   params={"near_phrasing_similarity": 0.99}, threshold=0.5) == []  # 1/3 exact <= 0.5


def case_leakage_heldout_phrasing_similarity(tmp_path):
    got = run_one(tmp_path, "leakage_heldout_phrasing_similarity", PHRASING)
    assert_rows(got, [{"similarity": "identical", "heldout_phrasings": 1, "heldout_records": 1},
                      {"similarity": ">= 0.9", "heldout_phrasings": 2, "heldout_records": 2, "share_of_heldout": 2 / 3},
                      {"similarity": ">= 0.8", "heldout_records": 2}, {"similarity": ">= 0.7", "heldout_records": 2},
                      {"similarity": "any", "heldout_phrasings": 3, "heldout_records": 3, "share_of_heldout": 1.0}])


def indel_similarity(a: str, b: str) -> float:
    """2 * LCS / (len a + len b), by dynamic programming: an implementation independent of rapidfuzz."""
    prev = [0] * (len(b) + 1)
    for ch in a:
        cur = [0]
        for j, other in enumerate(b):
            cur.append(prev[j] + 1 if ch == other else max(prev[j + 1], cur[j]))
        prev = cur
    return 2 * prev[-1] / (len(a) + len(b)) if a or b else 1.0


def test_phrasing_nearest_matches_a_brute_force_indel_similarity():
    import random

    from audit.phrasing import BLOCK, nearest, phrasing

    assert phrasing("Play Up on  Netflix?", [{"type": "platform", "start": 12, "end": 19},
                                             {"type": "title", "start": 5, "end": 7}]) == "play {title} on {platform}"
    rng = random.Random(0)
    words = ["play", "show", "me", "{title}", "on", "{platform}", "a", "good", "{genre}", "film", "tonight"]
    make = lambda n: [" ".join(rng.choices(words, k=rng.randint(1, 7))) for _ in range(n)]  # noqa: E731
    queries, choices = make(BLOCK + 30), sorted(set(make(60)))  # more than one block
    got = nearest(queries, choices)
    assert [q for q, _, _ in got] == queries
    for q, choice, sim in got[:: 37]:
        best = max(indel_similarity(q, c) for c in choices)
        assert sim == pytest.approx(round(best * 100) / 100, abs=0.011)
        assert indel_similarity(q, choice) == pytest.approx(best, abs=0.011)
    assert nearest(queries, []) == []


COOC = [rec("a", "train", "recommend", "dark horror from 1999", [("genre", "horror"), ("mood", "dark"), ("year", "1999")]),
        rec("b", "train", "recommend", "dark comedy", [("genre", "comedy"), ("mood", "dark")]),
        rec("c", "train", "recommend", "some drama", [("genre", "drama")]),
        rec("d", "test", "play", "play Up", [("title", "Up")])]


def case_cooccurrence_intent_entity_type(tmp_path):
    got = run_one(tmp_path, "cooccurrence_intent_entity_type", COOC)
    assert len(got) == len(TAX.intent_names) * len(TAX.entity_names)
    nonzero = [r for r in got if r["n_records"]]
    assert_rows(nonzero, [{"intent": "recommend", "type": "genre", "n_records": 3, "share_of_intent": 1.0},
                          {"intent": "recommend", "type": "mood", "n_records": 2, "share_of_intent": 2 / 3},
                          {"intent": "recommend", "type": "year", "n_records": 1, "share_of_intent": 1 / 3},
                          {"intent": "play", "type": "title", "n_records": 1, "share_of_intent": 1.0}])
    assert next(r for r in got if r["intent"] == "find_title")["share_of_intent"] is None  # no records


def case_cooccurrence_entity_type_pairs(tmp_path):
    got = run_one(tmp_path, "cooccurrence_entity_type_pairs", COOC)
    # P(genre)=3/4, P(mood)=2/4, P(year)=1/4
    assert_rows(got, [{"type_a": "genre", "type_b": "mood", "n_records": 2, "share": 0.5, "lift": 0.5 / (0.75 * 0.5)},
                      {"type_a": "genre", "type_b": "year", "n_records": 1, "lift": 0.25 / (0.75 * 0.25)},
                      {"type_a": "mood", "type_b": "year", "n_records": 1, "lift": 0.25 / (0.5 * 0.25)}])


KG = SimpleNamespace(titles=[
    title("Alpha", 1994, "movie", "English", ["drama", "crime"], ["Dee Rector"], [("Tom Hanks", "Joe")]),
    title("Beta", 1999, "series", "English", ["drama"]),
    title("Gamma", 2001, "movie", "Korean", ["thriller"])])
KG_RECORDS = [rec("a", "train", "title_info", "who is in Alpha", [("title", "Alpha")], seed="Alpha"),
              rec("b", "train", "recommend", "a Drama like the ones with tom hanks",
                  [("genre", "Drama"), ("actor", "tom hanks")], seed="Alpha"),
              rec("c", "test", "recommend", "korean thrillers", [("language", "korean")], seed="Gamma"),
              rec("d", "test", "out_of_scope", "what's the weather")]


def case_representativeness_classes(tmp_path):
    got = {(r["facet"], r["class"]): r for r in run_one(tmp_path, "representativeness_classes", KG_RECORDS, kg=KG)}
    assert len(got) == 3 + 2 + 2 + 2  # genres, languages, decades, media types
    assert_rows([got[("genre", "drama")]], [{"kg_titles": 2, "kg_share": 2 / 3, "seeded_records": 2,
                                             "data_share": 2 / 3, "mentions": 1}])
    assert_rows([got[("language", "Korean")]], [{"kg_titles": 1, "seeded_records": 1, "data_share": 1 / 3,
                                                 "mentions": 1}])
    assert_rows([got[("decade", "1990s")]], [{"kg_titles": 2, "seeded_records": 2, "mentions": None}])
    assert_rows([got[("media_type", "series")]], [{"kg_share": 1 / 3, "seeded_records": 0, "data_share": 0.0}])


def case_check_underrepresented_classes(tmp_path):
    got = run_one(tmp_path, "check_underrepresented_classes", KG_RECORDS, kg=KG, threshold=0.5)
    assert_rows(got, [{"facet": "decade", "class": "2000s", "below": "both"},
                      {"facet": "genre", "class": "crime", "kg_share": 1 / 3, "data_share": 2 / 3, "below": "kg"},
                      {"facet": "genre", "class": "thriller", "below": "both"},
                      {"facet": "language", "class": "Korean", "below": "both"},
                      {"facet": "media_type", "class": "series", "below": "both"}])


def case_representativeness_item_appearances(tmp_path):
    got = run_one(tmp_path, "representativeness_item_appearances", KG_RECORDS, kg=KG)
    assert_rows(got, [{"pool": "title", "item": "Alpha", "n_records": 2},  # seeded twice, named once
                      {"pool": "actor", "item": "Tom Hanks", "n_records": 1},
                      {"pool": "title", "item": "Gamma", "n_records": 1},
                      {"pool": "character", "item": "Joe", "n_records": 0},
                      {"pool": "director", "item": "Dee Rector", "n_records": 0},
                      {"pool": "title", "item": "Beta", "n_records": 0}])


def case_representativeness_appearance_summary(tmp_path):
    got = run_one(tmp_path, "representativeness_appearance_summary", KG_RECORDS, kg=KG)
    assert_rows(got, [
        {"pool": "actor", "kg_items": 1, "items_in_data": 1, "never_seen_share": 0.0, "records_max": 1},
        {"pool": "character", "kg_items": 1, "items_in_data": 0, "never_seen_share": 1.0},
        {"pool": "director", "kg_items": 1, "items_in_data": 0},
        {"pool": "title", "kg_items": 3, "items_in_data": 2, "never_seen_share": 1 / 3, "records_min": 0,
         "records_median": 1.0, "records_mean": 1.0, "records_max": 2}])


OPEN = [rec("a", "train", "play", "play Alpha", [("title", "Alpha")]),
        rec("b", "train", "play", "play Silver Harbor with Ana Ruiz", [("title", "Silver Harbor"), ("actor", "Ana Ruiz")]),
        rec("c", "train", "recommend", "movies with tom hanks", [("actor", "tom hanks")]),
        rec("d", "heldout", "play", "play beta", [("title", "beta")])]


def case_values_open_pool_share(tmp_path):
    got = run_one(tmp_path, "values_open_pool_share", OPEN, kg=KG)
    assert_rows(got, [
        {"split": "heldout", "type": "title", "mentions": 1, "kg_mentions": 1, "open_share": 0.0},
        {"split": "train", "type": "actor", "mentions": 2, "kg_mentions": 1, "open_mentions": 1, "open_share": 0.5},
        {"split": "train", "type": "title", "mentions": 2, "open_mentions": 1, "open_distinct": 1, "open_share": 0.5}])



ROLES = [rec("a", "train", "recommend", "tom hanks movies", [("actor", "tom hanks"), ("media_type", "movies")]),
         rec("b", "train", "recommend", "nolan movies", [("director", "nolan"), ("media_type", "movies")]),
         rec("c", "train", "recommend", "films with Ana Ruiz", [("media_type", "films"), ("actor", "Ana Ruiz")]),
         rec("d", "train", "recommend", "anything with batman?", [("character", "batman")]),
         rec("e", "train", "recommend", "movies with Ed Asner", [("media_type", "movies"), ("actor", "Ed Asner")]),
         rec("f", "heldout", "recommend", "shrek movies", [("character", "shrek"), ("media_type", "movies")])]


def case_values_role_cues(tmp_path):
    got = run_one(tmp_path, "values_role_cues", ROLES, params={"role_cue_min_mentions": 2})
    # Only cues that several seed types share in one split: "with" and the query's end (actor 2,
    # character 1), "{media_type}" after a name and the query's start (actor 1, director 1; a tie goes to
    # the first type by name). The heldout record's cues have one type, so no heldout row.
    assert_rows(got, [
        {"split": "train", "side": "after", "cue": "$", "mentions": 3, "n_types": 2, "top_type": "actor",
         "top_share": 2 / 3, "by_type": "actor 2, character 1"},
        {"split": "train", "side": "before", "cue": "with", "mentions": 3, "n_types": 2, "top_type": "actor",
         "top_share": 2 / 3, "by_type": "actor 2, character 1"},
        {"split": "train", "side": "after", "cue": "{media_type}", "mentions": 2, "n_types": 2,
         "top_type": "actor", "top_share": 0.5, "by_type": "actor 1, director 1"},
        {"split": "train", "side": "before", "cue": "^", "mentions": 2, "n_types": 2, "top_type": "actor",
         "top_share": 0.5, "by_type": "actor 1, director 1"}])

COORD = [rec("a", "train", "recommend", "a film about love and loss", [("theme", "love"), ("theme", "loss")]),
         rec("b", "train", "where_to_watch", "is Up on Hulu, Max, or Plex?",
             [("title", "Up"), ("platform", "Hulu"), ("platform", "Max"), ("platform", "Plex")]),
         rec("c", "train", "recommend", "something about grief", [("theme", "grief")]),
         # two actors not joined to each other: no pair
         rec("d", "train", "find_title", "Ana Ruiz plays Tom in Cars", [("actor", "Ana Ruiz"), ("character", "Tom")]),
         rec("e", "heldout", "recommend", "films with Ana Ruiz and Bo Li", [("actor", "Ana Ruiz"), ("actor", "Bo Li")]),
         rec("f", "heldout", "recommend", "films with Cy Po", [("actor", "Cy Po")])]


def case_values_coordination(tmp_path):
    got = run_one(tmp_path, "values_coordination", COORD)
    # Hulu, Max: a comma; Max, or Plex: the serial comma; one record either way
    assert_rows(got, [
        {"split": "heldout", "type": "actor", "n_records": 1, "share_of_type_records": 0.5, "joiners": "and 1"},
        {"split": "train", "type": "platform", "n_records": 1, "share_of_type_records": 1.0,
         "joiners": "comma 1, comma or 1"},
        {"split": "train", "type": "theme", "n_records": 1, "share_of_type_records": 0.5, "joiners": "and 1"}])


CUES = [rec("a", "train", "find_title", "Neo was played by Ana Ruiz in what film",
            [("character", "Neo"), ("actor", "Ana Ruiz")]),
        rec("b", "train", "recommend", "films starring Tom Hanks and Bo Li", [("actor", "Tom Hanks"), ("actor", "Bo Li")]),
        rec("c", "train", "title_info", "Nolan directed Memento?", [("director", "Nolan"), ("title", "Memento")]),
        rec("d", "heldout", "recommend", "films by Nolan", [("director", "Nolan")]),
        rec("e", "heldout", "title_info", "who is Ada in Up", [("character", "Ada"), ("title", "Up")])]


def case_values_cue_position(tmp_path):
    got = run_one(tmp_path, "values_cue_position", CUES)
    # Neo: "played" after it only; Nolan (train): "directed" after; the actors come after "starring" or
    # "by"; a name with no role word on either side ("who is Ada in Up") counts as no cue
    assert_rows(got, [
        {"split": "heldout", "type": "character", "mentions": 1, "n_cue_before": 0, "n_cue_after_only": 0,
         "n_no_cue": 1, "share_cue_after_only": 0.0},
        {"split": "heldout", "type": "director", "mentions": 1, "n_cue_before": 1, "n_cue_after_only": 0,
         "n_no_cue": 0, "share_cue_after_only": 0.0},
        {"split": "train", "type": "actor", "mentions": 3, "n_cue_before": 3, "n_cue_after_only": 0,
         "n_no_cue": 0, "share_cue_after_only": 0.0},
        {"split": "train", "type": "character", "mentions": 1, "n_cue_before": 0, "n_cue_after_only": 1,
         "n_no_cue": 0, "share_cue_after_only": 1.0},
        {"split": "train", "type": "director", "mentions": 1, "n_cue_before": 0, "n_cue_after_only": 1,
         "n_no_cue": 0, "share_cue_after_only": 1.0}])


SURFACE = [rec("a", "train", "find_title", "the one where a retired hitman goes after the gang",
               [("plot", "a retired hitman goes after the gang")]),
           rec("b", "train", "recommend", "Dark comedies from the eighties, with Ana Ruiz and Tom Hanks?",
               [("genre", "Dark comedies"), ("year", "the eighties"), ("actor", "Ana Ruiz"), ("actor", "Tom Hanks")]),
           rec("c", "train", "recommend", "westerns from 1994", [("genre", "westerns"), ("year", "1994")]),
           rec("d", "test", "out_of_scope", "What's the weather?")]


def case_diversity_surface_phenomena(tmp_path):
    got = run_one(tmp_path, "diversity_surface_phenomena", SURFACE)
    assert_rows(got, [
        {"split": "test", "n_records": 1, "all_lowercase": 0.0, "no_punctuation": 0.0, "long_plot": 0.0},
        {"split": "train", "n_records": 3, "all_lowercase": 2 / 3, "no_punctuation": 2 / 3, "long_plot": 1 / 3,
         "spoken_year": 1 / 3, "many_constraints": 1 / 3, "long_query": 0.0}])


NOISE = [rec("a", "train", "play", "um play up", [("title", "up")], noise=["filler", "lowercase_all"]),
         rec("b", "train", "play", "put on Cars", [("title", "Cars")]),
         rec("c", "train", "play", "long week, plya Heat", [("title", "Heat")], noise=["typo", "chatter"]),
         rec("d", "train", "play", "so uh play Ran", [("title", "Ran")], noise=["disfluency"]),
         rec("e", "test", "play", "PLAY JAWS", [("title", "JAWS")], noise=["uppercase_all"])]


def case_diversity_noise_transforms(tmp_path):
    got = run_one(tmp_path, "diversity_noise_transforms", NOISE)
    assert_rows(got, [
        {"split": "test", "noise_kind": "(none)", "n_records": 0, "share": 0.0},
        {"split": "test", "noise_kind": "uppercase_all", "n_records": 1, "share": 1.0},
        {"split": "train", "noise_kind": "(none)", "n_records": 1, "share": 0.25},
        {"split": "train", "noise_kind": "chatter", "n_records": 1, "share": 0.25},
        {"split": "train", "noise_kind": "disfluency", "n_records": 1, "share": 0.25},
        {"split": "train", "noise_kind": "filler", "n_records": 1, "share": 0.25},
        {"split": "train", "noise_kind": "lowercase_all", "n_records": 1, "share": 0.25},
        {"split": "train", "noise_kind": "typo", "n_records": 1, "share": 0.25}])


def test_noise_column_absent_reads_as_untouched(tmp_path):
    """A dataset written before the noise column existed still audits: every record untouched."""
    import pyarrow.parquet as pq

    ds = dataset(tmp_path / "old", [rec("a", "train", "play", "play Up", [("title", "Up")])])
    table = pq.read_table(ds / "train.parquet")
    pq.write_table(table.drop(["noise"]), ds / "train.parquet")
    result = run_file(connect(ds, TAX, load_audit_config()), parse_header(SQL_DIR / "diversity_noise_transforms.sql"))
    assert result.error is None, result.error
    assert result.records() == [{"split": "train", "noise_kind": "(none)", "n_records": 1, "share": 1.0}]


COMPOSED = [rec("a", "train", "recommend", "a drama set in Rome", [("genre", "drama"), ("setting", "Rome")],
                tpl="rec-c1.1"),
            rec("b", "train", "recommend", "a drama about grief from 1999",
                [("genre", "drama"), ("theme", "grief"), ("year", "1999")], tpl="rec-c1.2-0"),
            rec("c", "train", "play", "play Up", [("title", "Up")], tpl="play-001"),
            rec("d", "heldout", "play", "put on Heat", [("title", "Heat")], tpl="play-002")]


def case_diversity_compositions(tmp_path):
    got = run_one(tmp_path, "diversity_compositions", COMPOSED)
    assert_rows(got, [
        {"split": "heldout", "records": 1, "composed_records": 0, "composed_share": 0.0, "variants": 0,
         "compositions": 0, "mean_clauses": None},
        {"split": "train", "records": 3, "composed_records": 2, "composed_share": 0.6667, "variants": 2,
         "compositions": 1, "mean_clauses": 1.5}])


EXCLUDING = [
    rec("a", "train", "recommend", "no horror please, something cozy", [("genre", "horror", True), ("mood", "cozy")],
        clauses={"exclusion_clauses": ["excl-genre-01"]}),
    rec("b", "train", "recommend", "a horror film, but not with Ed Asner",
        [("genre", "horror"), ("actor", "Ed Asner", True)], clauses={"exclusion_clauses": ["excl-actor-01"]}),
    rec("c", "train", "recommend", "not sure what I want, maybe horror", [("genre", "horror")],
        clauses={"lookalike_clauses": ["lookalike-01"]}),
    rec("d", "heldout", "recommend", "drama, as long as it's not western, nothing by Ang Lee",
        [("genre", "drama"), ("genre", "western", True), ("director", "Ang Lee", True)],
        clauses={"exclusion_clauses": ["excl-genre-06", "excl-director-02"]}),
    rec("e", "heldout", "recommend", "I hate thrillers. anything cozy", [("genre", "thrillers", True), ("mood", "cozy")],
        clauses={"exclusion_clauses": ["excl-genre-01"]})]


def case_values_exclusions_per_type(tmp_path):
    got = run_one(tmp_path, "values_exclusions_per_type", EXCLUDING)
    assert_rows(got, [
        {"split": "heldout", "type": "director", "excluded": 1, "mentions": 1, "excluded_share": 1.0,
         "records_with_exclusion": 1, "record_share": 0.5},
        {"split": "heldout", "type": "genre", "excluded": 2, "mentions": 3, "excluded_share": 0.6667,
         "distinct_excluded": 2, "records_with_exclusion": 2, "record_share": 1.0},
        {"split": "train", "type": "actor", "excluded": 1, "mentions": 1, "record_share": 0.3333},
        {"split": "train", "type": "genre", "excluded": 1, "mentions": 3, "excluded_share": 0.3333,
         "distinct_excluded": 1, "records_with_exclusion": 1}])


def case_diversity_exclusion_clauses(tmp_path):
    got = run_one(tmp_path, "diversity_exclusion_clauses", EXCLUDING)
    assert_rows(got, [
        {"split": "heldout", "kind": "exclusion", "clause_id": "excl-director-02", "n_records": 1, "in_train": False},
        {"split": "heldout", "kind": "exclusion", "clause_id": "excl-genre-01", "n_records": 1, "in_train": True},
        {"split": "heldout", "kind": "exclusion", "clause_id": "excl-genre-06", "n_records": 1, "in_train": False},
        {"split": "train", "kind": "exclusion", "clause_id": "excl-actor-01", "n_records": 1, "in_train": True},
        {"split": "train", "kind": "exclusion", "clause_id": "excl-genre-01", "n_records": 1, "in_train": True},
        {"split": "train", "kind": "lookalike", "clause_id": "lookalike-01", "n_records": 1, "in_train": True}])


def case_check_leakage_heldout_clauses(tmp_path):
    got = run_one(tmp_path, "check_leakage_heldout_clauses", EXCLUDING)
    assert_rows(got, [{"clause_id": "excl-genre-01", "heldout_records": 1, "heldout_leaked_share": 0.5}])
    assert run_one(tmp_path / "strict", "check_leakage_heldout_clauses", EXCLUDING, threshold=0.6) == []


def test_datasets_without_exclude_or_clause_columns_still_audit(tmp_path):
    """A dataset written before exclusions existed: every entity a wish, no clause used."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = dataset(tmp_path / "old", [rec("a", "train", "play", "play Up", [("title", "Up")])])
    table = pq.read_table(ds / "train.parquet").drop(["exclusion_clauses", "lookalike_clauses"])
    old_entity = pa.list_(pa.struct([("type", pa.string()), ("value", pa.string()), ("start", pa.int32()),
                                     ("end", pa.int32())]))
    entities = pa.array([[{k: e[k] for k in ("type", "value", "start", "end")} for e in row]
                         for row in table.column("entities").to_pylist()], type=old_entity)
    pq.write_table(table.set_column(table.schema.get_field_index("entities"), "entities", entities),
                   ds / "train.parquet")
    con = connect(ds, TAX, load_audit_config())
    for name in ("values_exclusions_per_type", "diversity_exclusion_clauses", "check_leakage_heldout_clauses"):
        result = run_file(con, parse_header(SQL_DIR / f"{name}.sql"))
        assert result.error is None and result.rows == [], (name, result.error)


CASES = {name[len("case_"):]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}


def test_every_sql_file_has_a_fixture_case():
    files = sorted(p.stem for p in SQL_DIR.glob("*.sql"))
    assert len(files) == 35
    assert sorted(CASES) == files


@pytest.mark.parametrize("name", sorted(CASES))
def test_sql_file(name, tmp_path):
    CASES[name](tmp_path)


def test_checks_pass_with_zero_rows_on_a_clean_dataset(tmp_path):
    clean = [rec("a", "train", "play", "play Up", [("title", "Up")], tpl="p1", seed="Up"),
             rec("b", "train", "play", "start Cars now", [("title", "Cars")], tpl="p2", seed="Cars"),
             rec("c", "test", "play", "put on Heat", [("title", "Heat")], tpl="p3", seed="Heat"),
             rec("d", "heldout", "play", "I want to watch Ran", [("title", "Ran")], tpl="p4", seed="Ran")]
    for name in ("check_exact_duplicates", "check_near_duplicates", "check_leakage_exact_query",
                 "check_leakage_normalized_query", "check_leakage_heldout_seeds", "check_leakage_heldout_templates",
                 "check_leakage_heldout_phrasing", "check_intent_below_target"):
        assert run_one(tmp_path / name, name, clean, intents={"play": 1.0}) == [], name


# ---- the whole audit: CLI, report files, drop-in SQL ----------------------------------------------------

def unbalanced_leaky(path: Path) -> Path:
    """30 records: recommend far above its target, play far below; one test query copied from train and
    a heldout record on a title that seeds train."""
    recs = [rec(f"r{i:02d}", "train", "recommend", f"any good horror film number {i}", [("genre", "horror")],
                tpl=f"rec{i % 5}") for i in range(27)]
    recs += [rec("p1", "train", "play", "play Inception", [("title", "Inception")], tpl="play1", seed="Inception"),
             rec("p2", "test", "play", "play Inception", [("title", "Inception")], tpl="play1", seed="Inception"),
             rec("h1", "heldout", "play", "put on Inception tonight", [("title", "Inception")], tpl="play9",
                 seed="Inception")]
    return dataset(path, recs, intents={"recommend": 0.5, "play": 0.5})


def test_cli_flags_unbalanced_and_leaky_dataset(tmp_path, capsys):
    data = unbalanced_leaky(tmp_path / "ds")
    assert audit_main(["--data", str(data), "--quiet"]) == 0
    err = capsys.readouterr().err
    warnings = {line.split()[2] for line in err.splitlines() if line.startswith("WARNING check ")}
    assert {"check_intent_below_target", "check_leakage_exact_query", "check_leakage_normalized_query",
            "check_leakage_heldout_seeds", "check_exact_duplicates"} <= warnings
    assert "check_entity_type_below_target" not in warnings  # no entity targets given
    below = next(line for line in err.splitlines() if "check_intent_below_target" in line)
    assert "label=play" in below and "ratio=0.2" in below  # 3/30 = 0.1 against 0.5
    report = json.loads((data / "audit" / "audit.json").read_text())
    assert report["checks"]["check_leakage_heldout_seeds"]["status"] == "fail"
    assert report["checks"]["check_leakage_heldout_templates"]["status"] == "pass"
    assert audit_main(["--data", str(data), "--quiet", "--strict"]) == 1


def test_report_is_self_contained_and_lists_every_file(tmp_path):
    data = unbalanced_leaky(tmp_path / "ds")
    audit = run_audit(data, tmp_path / "out", progress=False)
    html = (tmp_path / "out" / "audit.html").read_text()
    md = (tmp_path / "out" / "audit.md").read_text()
    assert "<style>" in html and "data:image/png;base64," in html
    assert "<link" not in html and 'src="http' not in html and "<script" not in html
    for r in audit.results:
        assert f"{r.file.name}.sql" in md and f"{r.file.name}.sql" in html
    assert (tmp_path / "out" / "plots" / "balance_intent_vs_target.png").stat().st_size > 1000
    assert md.index("## Balance") < md.index("## Leakage")  # config.yml's section order


def test_a_dropped_in_sql_file_joins_the_report(tmp_path, capsys):
    sql = shutil.copytree(SQL_DIR, tmp_path / "sql")
    (sql / "check_short_queries.sql").write_text(
        "-- section: length\n-- check: severity=error threshold=3\n-- Queries with fewer than threshold tokens.\n"
        "with source as (select * from records),\n\nfinal as (\n    select src.id, src.query\n    from source as src\n"
        "    where len(string_split(src.query, ' ')) < threshold()\n    order by src.id\n)\n\nselect * from final\n")
    (sql / "zz_queries_per_backend.sql").write_text(
        "-- Records per backend.\nselect backend, count(*) as n_records from records group by backend\n")
    data = unbalanced_leaky(tmp_path / "ds")
    assert audit_main(["--data", str(data), "--sql-dir", str(sql), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "WARNING check check_short_queries failed (severity=error, threshold=3): 2 offending row(s)" in err
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert report["checks"]["check_short_queries"]["offending_rows"] == 2
    assert report["tables"]["zz_queries_per_backend"]["rows"] == [["grammar", 30]]
    md = (tmp_path / "out" / "audit.md").read_text()
    assert "## Other queries" in md and "Records per backend." in md


def config_with(tmp_path: Path, checks: dict) -> Path:
    """The shipped config (flat and complete, like every config here) with other `checks:` overrides."""
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["checks"] = checks
    path = tmp_path / "audit.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_config_overrides_threshold_and_rejects_unknown_check(tmp_path, capsys):
    data = unbalanced_leaky(tmp_path / "ds")
    cfg = config_with(tmp_path, {"check_intent_below_target": {"threshold": 0.1}})  # 0.2 of target is now fine
    assert audit_main(["--data", str(data), "--config", str(cfg), "--quiet"]) == 0
    assert "check_intent_below_target" not in capsys.readouterr().err
    cfg = config_with(tmp_path, {"check_intent_below_targets": {"threshold": 0.1}})
    assert audit_main(["--data", str(data), "--config", str(cfg), "--quiet"]) == 2
    assert "did you mean 'check_intent_below_target'" in capsys.readouterr().err


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "check_x.sql").write_text("-- check: severity=fatal threshold=abc\nselect 1\n")
    with pytest.raises(ConfigError) as exc:
        parse_header(sql / "check_x.sql")
    assert len(exc.value.problems) == 2 and "severity must be one of warn, error" in str(exc.value)
    assert audit_main(["--data", str(tmp_path / "missing"), "--quiet"]) == 2
    assert "no {train,validation,test,heldout}.parquet" in capsys.readouterr().err
    (sql / "check_x.sql").write_text("-- check: severity=warn threshold=0\nselect * from no_such_table\n")
    data = unbalanced_leaky(tmp_path / "ds")
    cfg = config_with(tmp_path, {})
    assert audit_main(["--data", str(data), "--sql-dir", str(sql), "--config", str(cfg), "--quiet"]) == 2
    assert "ERROR check_x:" in capsys.readouterr().err
