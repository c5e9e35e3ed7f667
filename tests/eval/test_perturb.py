"""Perturbations keep gold spans exact, are deterministic, and edit more at higher severity."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from eval.perturb import TARGET_TYPES, Perturbation, perturb_record, perturb_records
from eval.robustness import DEFAULT_CONFIG, load_robustness_config
from schemas import ConfigError, load_taxonomy
from synth.config import load_data_config
from synth.pipeline import build_dataset
from synth.templates import Grammar

ROOT = Path(__file__).resolve().parents[2]
CFG = load_robustness_config(DEFAULT_CONFIG)


def span_rec(rid: str, query: str, ents: list[tuple[str, str]], intent: str = "recommend") -> dict:
    spans = []
    for etype, value in ents:
        start = query.index(value)
        spans.append({"type": etype, "value": value, "start": start, "end": start + len(value)})
    return {"id": rid, "query": query, "intent": intent, "entities": spans, "split": "test",
            "meta": {"template_id": "none", "backend": "hand"}}


# Edge cases the generated data may not hold: entities at both ends, adjacent entities, non-ASCII,
# punctuation inside an entity, no plain text at all, no word long enough for a typo.
HAND = [span_rec("h1", "Amélie", [("title", "Amélie")], "play"),
        span_rec("h2", "Spider-Man: No Way Home, is it on Disney+?",
                 [("title", "Spider-Man: No Way Home"), ("platform", "Disney+")], "where_to_watch"),
        span_rec("h3", "dark Korean thrillers from the 90s!", [("mood", "dark"), ("language", "Korean"),
                                                               ("genre", "thrillers"), ("year", "the 90s")]),
        span_rec("h4", "what's on", [], "out_of_scope"),
        span_rec("h5", "play It", [("title", "It")], "play")]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[list[dict], Grammar]:
    out = tmp_path_factory.mktemp("perturb") / "ds"
    cfg = load_data_config(ROOT / "recipes/data/default.yml", {"n": 400, "seed": 3, "out": str(out)})
    build_dataset(cfg, progress=False)
    records = [json.loads(line) for s in ("train", "test", "heldout") for line in (out / f"{s}.jsonl").open()]
    per_intent: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        per_intent[r["intent"]].append(r)
    sample = [r for rs in per_intent.values() for r in rs[:20]]  # every intent's templates
    return sample + HAND, Grammar.load(ROOT / "synth/grammar", load_taxonomy())


def assert_exact(rec: dict) -> None:
    for e in rec["entities"]:
        assert rec["query"][e["start"]:e["end"]] == e["value"], rec
    ends = sorted((e["start"], e["end"]) for e in rec["entities"])
    assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:], strict=False)), rec  # no overlaps


def test_shipped_config_lists_every_perturbation_and_severity():
    assert len(CFG.perturbations) == 29
    assert {p.name for p in CFG.perturbations} == {"typos", "lowercase", "uppercase", "strip_punctuation",
                                                   "fillers", "distractor", "paraphrase", "entity_typos",
                                                   "as_typed", "spoken_years", "swap_names", "split_merge",
                                                   "coordinate", "negation"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spans_stay_exact_after_every_perturbation(data, seed):
    records, grammar = data
    for p in CFG.perturbations:
        out = perturb_records(records, p, seed, grammar)
        assert [r["id"] for r in out] == [r["id"] for r in records]
        for before, after in zip(records, out, strict=True):
            assert_exact(after)
            # another template may put the same entities in another order; coordinate adds some
            types = lambda r: Counter(e["type"] for e in r["entities"])  # noqa: E731
            if p.transform == "coordinate":
                added = types(after) - types(before)
                assert not types(before) - types(after) and set(added) <= set(TARGET_TYPES["coordinate"])
                assert sum(added.values()) <= p.params["count"]
            elif p.transform == "negate":  # exclusions of the configured types, nothing else
                ruled_out = lambda r: Counter(e["type"] for e in r["entities"] if e.get("exclude"))  # noqa: E731
                added = ruled_out(after) - ruled_out(before)
                assert types(after) - types(before) == added and set(added) <= set(p.params["types"])
                assert sum(added.values()) <= p.params["count"]
                assert after["meta"]["perturbed"] == bool(added)
            else:
                assert types(after) == types(before)
            assert after["intent"] == before["intent"] and after["meta"]["original_query"] == before["query"]
        changed = sum(r["meta"]["perturbed"] for r in out)
        # a transform aimed at some entity types is measured on the records that have one
        targets = TARGET_TYPES.get(p.transform)
        eligible = [r for r in records if targets is None or any(e["type"] in targets for e in r["entities"])]
        if p.transform == "negate":
            eligible = [r for r in records if r["intent"] in p.params["intents"]]
        if p.transform == "strip_punctuation":  # a quarter of generated queries carry none
            eligible = [r for r in eligible if any(c in r["query"] for c in ".,?!;:\"")]
        assert eligible and changed > len(eligible) * 0.2, f"{p.key} changed only {changed} of {len(eligible)}"


def test_deterministic_and_independent_of_order(data):
    records, grammar = data
    for p in CFG.perturbations:
        first = perturb_records(records, p, 5, grammar)
        assert first == perturb_records(records, p, 5, grammar), p.key
        alone = [perturb_record(r, p, 5, grammar) for r in reversed(records)][::-1]
        assert alone == first, p.key
    typo = next(p for p in CFG.perturbations if p.key == "typos-med")
    assert [r["query"] for r in perturb_records(records, typo, 5)] != [r["query"] for r in perturb_records(records, typo, 6)]


def total_edits(records: list[dict], p: Perturbation, grammar: Grammar) -> int:
    return sum(Levenshtein.distance(r["query"], q["query"])
               for r, q in zip(records, perturb_records(records, p, 11, grammar), strict=True))


def test_higher_severity_edits_more(data):
    records, grammar = data
    by_name: dict[str, dict[str, int]] = defaultdict(dict)
    for p in CFG.perturbations:
        by_name[p.name][p.severity] = total_edits(records, p, grammar)
    for name, edits in by_name.items():
        levels = [edits[s] for s in ("low", "med", "high") if s in edits]
        if len(levels) < 2:  # one severity only (spoken_years)
            assert levels[0] > 0, (name, edits)
            continue
        if name == "paraphrase":  # another template rewrites more than the same one
            assert levels[-1] > levels[0], (name, edits)
            continue
        assert levels == sorted(levels) and levels[0] < levels[-1], (name, edits)


def test_entities_untouched_unless_the_severity_reaches_into_them(data):
    records, grammar = data
    values = lambda rs: [[e["value"] for e in r["entities"]] for r in rs]  # noqa: E731
    for p in CFG.perturbations:
        out = perturb_records(records, p, 4, grammar)
        inside = p.params.get("inside_entities", p.name in ("lowercase", "uppercase", "entity_typos",
                                                            "spoken_years", "swap_names", "split_merge",
                                                            "coordinate", "negation"))
        if p.name == "paraphrase":
            # the same values, in the new template's order
            assert all(Counter(map(str, a)) == Counter(map(str, b)) for a, b in zip(values(records), values(out), strict=True))
        elif inside:
            assert values(out) != values(records), p.key
        else:
            assert values(out) == values(records), p.key


def test_paraphrase_uses_the_grammar_and_another_template_at_high(data):
    records, grammar = data
    high = next(p for p in CFG.perturbations if p.key == "paraphrase-high")
    rec = next(r for r in records if r["intent"] == "play" and len(r["entities"]) == 1)
    out = perturb_record(rec, high, 0, grammar)
    assert out["query"] != rec["query"] and out["entities"][0]["value"] == rec["entities"][0]["value"]
    hand = perturb_record(HAND[0], high, 0, grammar)  # template unknown to the grammar: left as is
    assert hand["query"] == "Amélie" and hand["meta"]["perturbed"] is False


def test_fillers_and_distractors_keep_their_words_whole():
    rec = span_rec("x", "find me a dark comedy", [("mood", "dark"), ("genre", "comedy")])
    p = Perturbation("fillers", "fillers", "high", {"count": 6, "words": ["you know"], "repeat_share": 0.0})
    for seed in range(20):
        out = perturb_record(rec, p, seed, None)
        assert out["query"].count("you know") == 6 and "you you" not in out["query"], out["query"]
        assert_exact(out)
    p = Perturbation("distractor", "distractor", "high", {"count": 2, "before": ["so,"], "after": ["thanks"]})
    assert perturb_record(rec, p, 0, None)["query"] == "so, find me a dark comedy thanks"


@pytest.mark.parametrize(("head", "perturbations", "parts"), [
    ("split: tset\nlimit: 0\nsystems: [finetuned, gpt]",
     "  typos: {transform: typos, low: {cont: 1}, extreme: {count: 9}}\n  weird: {transform: shuffle, low: {}}\n",
     ("split 'tset'", "limit must be", "systems must be", "unknown key 'extreme'",
      "unknown key 'cont' (did you mean 'count'?)", "'shuffle' is not one of")),
    ("split: test\nlimit: 5\nsystems: [finetuned]",
     "  negation: {transform: negate, low: {phrases: ['no {value} in {query} here', '{query} not {value}'],"
     " types: [genre, title], intents: [recommend, chitchat]}}\n",
     ("'no {value} in {query} here' must hold", "types: 'title' cannot be ruled out", "unknown intent 'chitchat'")),
])
def test_bad_config_reports_every_problem(tmp_path, head: str, perturbations: str, parts: tuple[str, ...]):
    path = tmp_path / "r.yml"
    path.write_text(f"seed: 1\n{head}\nperturbations:\n{perturbations}")
    with pytest.raises(ConfigError) as exc:
        load_robustness_config(path)
    text = str(exc.value)
    assert len(exc.value.problems) == len(parts), text
    for part in parts:
        assert part in text, part


# ---- perturbations for the surface phenomena of real typed queries --------------------------------

def test_entity_typos_touch_only_entities_and_swap_names_uses_unseen_names():
    rec = span_rec("x", "is Interstellar directed by Christopher Nolan on Netflix",
                   [("title", "Interstellar"), ("director", "Christopher Nolan"), ("platform", "Netflix")],
                   "title_info")
    p = Perturbation("entity_typos", "entity_typos", "low", {"count": 1})
    for seed in range(30):
        out = perturb_record(rec, p, seed)
        assert_exact(out)
        plain = lambda r: [r["query"][:r["entities"][0]["start"]]] + [  # noqa: E731
            r["query"][a["end"]:b["start"]] for a, b in zip(r["entities"], r["entities"][1:], strict=False)]
        assert plain(out) == plain(rec) and out["query"] != rec["query"]
    p = Perturbation("swap_names", "swap_names", "med", {"types": ["title", "director"], "pool_seed": 9001})
    out = perturb_record(rec, p, 0)
    assert_exact(out)
    assert out["entities"][0]["value"] != "Interstellar" and out["entities"][1]["value"] != "Christopher Nolan"
    assert out["entities"][2]["value"] == "Netflix"


@pytest.mark.parametrize("query, year, allowed", [
    ("movies from 1987", "1987", {"the 1980s", "the 80s", "the late 80s", "the late 1980s", "the eighties"}),
    ("a 90s movie", "90s", {"1990s", "nineties"}),
    ("comedies from the nineties", "the nineties", {"the 1990s", "the 90s"}),
])
def test_spoken_years_say_the_same_era_another_way(query, year, allowed):
    rec = span_rec("y", query, [("year", year)])
    p = Perturbation("spoken_years", "spoken_years", "low", {})
    seen = {perturb_record(rec, p, s)["entities"][0]["value"] for s in range(40)}
    assert seen <= allowed and len(seen) >= 2, seen


def test_as_typed_and_split_merge():
    rec = span_rec("z", "Is Spider Man: Homecoming on Disney+?", [("title", "Spider Man: Homecoming"),
                                                                   ("platform", "Disney+")], "where_to_watch")
    out = perturb_record(rec, Perturbation("as_typed", "as_typed", "med", {"inside_entities": True}), 0)
    assert out["query"] == "is spider man homecoming on disney+"
    assert out["entities"][0]["value"] == "spider man homecoming"
    out = perturb_record(rec, Perturbation("split_merge", "split_merge", "low", {"count": 1}), 0)
    assert_exact(out) and out["query"] != rec["query"]


def test_coordinate_joins_a_second_value_of_the_same_type_in_the_spans_casing():
    rec = span_rec("c", "dark korean thrillers on netflix starring Song Kang-ho",
                   [("mood", "dark"), ("language", "korean"), ("genre", "thrillers"), ("platform", "netflix"),
                    ("actor", "Song Kang-ho")])
    p = Perturbation("coordinate", "coordinate", "low", {"count": 1})
    seen = set()
    for seed in range(40):
        out = perturb_record(rec, p, seed)
        assert_exact(out)
        assert len(out["entities"]) == 6 and out["meta"]["perturbed"]
        pair = [(a, b) for a, b in zip(out["entities"], out["entities"][1:], strict=False) if a["type"] == b["type"]]
        assert len(pair) == 1
        a, b = pair[0]
        assert out["query"][a["end"]:b["start"]] in (" and ", " or ") and b["value"].casefold() != a["value"].casefold()
        if a["value"].islower():
            assert b["value"].islower(), out["query"]
        seen.add(a["type"])
    assert seen == {"mood", "language", "genre", "platform", "actor"}
    # med joins two; a record with nothing to coordinate is left as it is
    two = perturb_record(rec, Perturbation("coordinate", "coordinate", "med", {"count": 2}), 0)
    assert len(two["entities"]) == 7
    play = span_rec("p", "play Heat", [("title", "Heat")], "play")
    assert not perturb_record(play, p, 0)["meta"]["perturbed"]


# ---- exclusions: negation, and exclusions kept through every transform ------------------------------

NEGATE = next(p for p in CFG.perturbations if p.key == "negation-low")


def test_negation_rules_out_a_value_of_a_type_the_query_lacks():
    rec = span_rec("n", "Any uplifting comedies from the 90s for a family night?",
                   [("mood", "uplifting"), ("genre", "comedies"), ("year", "the 90s"),
                    ("audience", "a family night")])
    seen_types, seen_phrases = Counter(), set()
    for seed in range(60):
        out = perturb_record(rec, NEGATE, seed)
        assert_exact(out)
        new = [e for e in out["entities"] if e.get("exclude")]
        assert len(new) == 1 and out["meta"]["perturbed"]
        assert new[0]["value"].casefold() not in rec["query"].casefold()
        assert new[0]["type"] in ("language", "platform", "actor", "director")  # types the query lacks
        kept = [(e["type"], e["value"]) for e in out["entities"] if not e.get("exclude")]
        assert kept == [(e["type"], e["value"]) for e in rec["entities"]]
        # the closing ? stays last; a clause put first takes the capital
        assert out["query"].endswith("?") and out["query"][0].isupper()
        seen_types[new[0]["type"]] += 1
        seen_phrases.add(out["query"].replace(new[0]["value"], "{value}"))
    assert len(seen_types) == 4 and len(seen_phrases) >= 5
    other = perturb_record(span_rec("o", "play Amélie", [("title", "Amélie")], "play"), NEGATE, 0)
    assert other["meta"]["perturbed"] is False  # not an intent that takes exclusions here


def test_negation_phrases_are_not_the_training_grammars():
    """The robustness set says exclusions in words the training data never used: no phrasing of
    eval/robustness/config.yml equals a clause of synth/grammar/exclusions.yml, alternatives expanded."""
    import itertools
    import re

    import yaml

    path = ROOT / "synth/grammar/exclusions.yml"
    if not path.is_file():
        pytest.skip("no training exclusion clauses yet")

    def variants(text: str) -> set[str]:
        parts = re.split(r"(\[[^\]]*\])", text)
        options = [p[1:-1].split("|") if p.startswith("[") else [p] for p in parts]
        return {"".join(c) for c in itertools.product(*options)}

    def key(text: str) -> str:  # slots as one placeholder, spaces and outer punctuation folded
        text = re.sub(r"\{[a-z_]+\}", "{}", text.replace("{query}", ""))
        return " ".join(text.split()).strip(" ,.-;:!?").casefold()

    clauses = yaml.safe_load(path.read_text())["exclusions"]
    training = {key(v) for c in clauses for v in variants(c["text"])}
    phrases = {key(p) for q in CFG.perturbations if q.transform == "negate" for p in q.params["phrases"]}
    assert len(training) > 100 and len(phrases) == 6
    assert not phrases & training, sorted(phrases & training)


def test_exclusions_stay_exclusions_through_every_transform(data):
    """An entity the user rules out keeps "exclude": true under every perturbation (its value may change);
    a value coordinated with it is ruled out too."""
    records, grammar = data
    rec = span_rec("x", "a dark korean thriller but not horror, without Tom Hanks",
                   [("mood", "dark"), ("language", "korean"), ("genre", "thriller"), ("genre", "horror"),
                    ("actor", "Tom Hanks")])
    rec["entities"][3]["exclude"] = rec["entities"][4]["exclude"] = True
    for p in CFG.perturbations:
        out = perturb_record(rec, p, 3, grammar)
        assert_exact(out)
        ruled_out = [e for e in out["entities"] if e.get("exclude")]
        assert len(ruled_out) >= 2, (p.key, out)
        if p.transform == "coordinate":
            joined = [b for a, b in zip(out["entities"], out["entities"][1:], strict=False)
                      if a["type"] == b["type"] and a.get("exclude") and out["query"][a["end"]:b["start"]]
                      in (" and ", " or ")]
            assert all(b.get("exclude") for b in joined)


def test_bad_negation_parameters_are_reported(tmp_path):
    path = tmp_path / "r.yml"
    path.write_text("seed: 1\nsplit: test\nlimit: 5\nsystems: [finetuned]\nperturbations:\n"
                    "  negation: {transform: negate, low: {count: 0, types: genre}}\n")
    with pytest.raises(ConfigError) as exc:
        load_robustness_config(path)
    assert [p.split(": ", 1)[1] for p in exc.value.problems] == [
        "perturbations.negation.low.count: expected an integer >= 1, got 0",
        "perturbations.negation.low.types: expected a non-empty list"]

