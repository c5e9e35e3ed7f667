"""synth.noise: every transform keeps gold spans exact; entity text only changes case unless asked."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from schemas import ConfigError
from synth.noise import (
    DEFAULT_CHATTER_AFTER,
    DEFAULT_CHATTER_BEFORE,
    TRANSFORMS,
    NoiseConfig,
    add_filler,
    apply_noise,
    capitalize_first,
    chatter,
    disfluencies,
    end_punctuation,
    lowercase,
    strip_punctuation,
    typo,
    uppercase,
)
from synth.segments import Segment, join_segments

QUERY: list[Segment] = [
    ("looking for a ", None), ("science fiction", "genre"), (" ", None), ("tv show", "media_type"),
    (" featuring ", None), ("a heist gone wrong", "plot"), (", set in ", None), ("1920s Paris", "setting"),
    (" with ", None), ("Song Kang-ho", "actor"), (" on ", None), ("Disney+", "platform"), ("?", None),
]
ENTITY_TEXT = [t for t, e in QUERY if e is not None]
LOUD = NoiseConfig(lowercase_all=0.4, uppercase_all=0.2, capitalize_first=0.5, typo=1.0, filler=0.5)


def check_spans(segments: list[Segment]) -> tuple[str, list[dict]]:
    query, ents = join_segments(segments)
    assert all(query[e["start"]:e["end"]] == e["value"] for e in ents)
    assert "  " not in query and query == query.strip()
    return query, ents


# ---- config -----------------------------------------------------------------------------------

def test_config_from_mapping_overrides_defaults_and_round_trips():
    assert NoiseConfig.from_mapping({}) == NoiseConfig()
    cfg = NoiseConfig.from_mapping({"typo": 0.2, "end_punctuation": {"keep": 1, "?": 3}, "fillers_end": ["pls"]})
    assert cfg.typo == 0.2 and dict(cfg.end_punctuation) == {"keep": 1.0, "?": 3.0} and cfg.fillers_end == ("pls",)
    assert NoiseConfig.from_mapping(cfg.to_dict()) == cfg


def test_config_reports_every_problem_at_once():
    bad = {"lowercase_al": 0.3, "typo": 1.5, "end_punctuation": {"?": 1, "kep": 1}, "typo_kinds": {"swap": 1},
           "fillers_start": "um", "typo_min_letters": 1}
    with pytest.raises(ConfigError) as exc:
        NoiseConfig.from_mapping(bad, "recipe.yml: grammar.noise")
    problems = exc.value.problems
    assert len(problems) == 6, problems
    assert all(p.startswith("recipe.yml: grammar.noise") for p in problems)
    assert any("did you mean 'lowercase_all'" in p for p in problems)
    assert any("'kep'" in p for p in problems) and any("'swap'" in p for p in problems)


# ---- apply_noise ------------------------------------------------------------------------------

def test_apply_noise_keeps_spans_exact_and_entities_change_only_case():
    changed = Counter()
    for seed in range(3000):
        query, ents = check_spans(apply_noise(QUERY, LOUD, random.Random(seed)))
        assert [e["value"].lower() for e in ents] == [t.lower() for t in ENTITY_TEXT], seed
        changed[query.lower() != join_segments(QUERY)[0].lower()] += 1
    assert changed[True] > 2500  # typo = 1.0: plain text nearly always differs


def test_apply_noise_is_deterministic_per_seed():
    a = [apply_noise(QUERY, LOUD, random.Random(s)) for s in range(200)]
    b = [apply_noise(QUERY, LOUD, random.Random(s)) for s in range(200)]
    assert a == b and len({join_segments(x)[0] for x in a}) > 100


def test_off_is_the_identity():
    for seed in range(50):
        assert apply_noise(QUERY, NoiseConfig.off(), random.Random(seed)) == QUERY


# ---- typos ------------------------------------------------------------------------------------

def test_typos_never_touch_entities_by_default():
    for seed in range(2000):
        out = typo(QUERY, random.Random(seed))
        assert [t for t, e in out if e is not None] == ENTITY_TEXT
        assert out != QUERY
        check_spans(out)


def test_typos_inside_entities_when_asked():
    touched = 0
    for seed in range(500):
        out = typo(QUERY, random.Random(seed), inside_entities=True)
        check_spans(out)
        touched += [t for t, e in out if e is not None] != ENTITY_TEXT
    assert 100 < touched < 500  # entities and plain words both get hit


@pytest.mark.parametrize("kind", ["substitute", "delete", "transpose", "double"])
def test_each_typo_kind_misspells_the_word(kind):
    for seed in range(200):
        [(word, _)] = typo([("something", None)], random.Random(seed), kinds={kind: 1})
        assert word != "something" and word[0] == "s"
        n = {"delete": -1, "double": 1}.get(kind, 0)
        assert len(word) == len("something") + n
        if kind == "transpose":
            assert sorted(word) == sorted("something")
        if kind == "substitute":
            assert sum(a != b for a, b in zip(word, "something", strict=True)) == 1


def test_typo_needs_a_long_enough_plain_word():
    segs: list[Segment] = [("is ", None), ("Dune", "title"), (" on", None)]
    assert typo(segs, random.Random(0)) == segs
    assert typo(segs, random.Random(0), min_letters=2) != segs


# ---- the other transforms ---------------------------------------------------------------------

def test_casing_transforms():
    assert join_segments(lowercase(QUERY))[0] == join_segments(QUERY)[0].lower()
    assert join_segments(uppercase(QUERY))[0] == join_segments(QUERY)[0].upper()
    assert [t for t, e in lowercase(QUERY, inside_entities=False) if e] == ENTITY_TEXT
    assert capitalize_first([("", None), ("dune", "title"), (" trailer", None)])[1] == ("Dune", "title")


def test_strip_punctuation_tidies_spaces():
    segs: list[Segment] = [("hey, is ", None), ("Dune", "title"), (" on... ", None), ("Disney+", "platform"),
                           (" ?!", None)]
    assert join_segments(strip_punctuation(segs))[0] == "hey is Dune on Disney+"
    segs = [("is ", None), ("Airplane!", "title"), (" good?", None)]
    assert join_segments(strip_punctuation(segs))[0] == "is Airplane! good"
    assert join_segments(strip_punctuation(segs, inside_entities=True))[0] == "is Airplane good"


def test_fillers_go_first_or_before_the_end_mark():
    rng = random.Random(0)
    assert join_segments(add_filler(QUERY, rng, start=["um"], end=[], start_share=1))[0].startswith("um looking")
    assert join_segments(add_filler(QUERY, rng, start=[], end=["please"]))[0].endswith("Disney+ please?")
    ends_with_entity = QUERY[:-1]
    out = add_filler(ends_with_entity, rng, start=[], end=["thx"])
    assert join_segments(out)[0].endswith("Disney+ thx")
    check_spans(out)


def test_end_punctuation_replaces_or_drops_but_never_eats_an_entity():
    rng = random.Random(0)
    assert join_segments(end_punctuation(QUERY, rng, choices={"!": 1}))[0].endswith("Disney+!")
    assert join_segments(end_punctuation(QUERY, rng, choices={"drop": 1}))[0].endswith("Disney+")
    assert end_punctuation(QUERY, rng, choices={"keep": 1}) == QUERY
    segs: list[Segment] = [("play ", None), ("Airplane!", "title")]
    assert end_punctuation(segs, rng, choices={"drop": 1}) == segs


def test_every_exported_transform_takes_segments_and_rng():
    for name, fn in TRANSFORMS.items():
        for seed in range(100):
            out = fn(QUERY, random.Random(seed))
            _, ents = check_spans(out)
            assert len(ents) == len(ENTITY_TEXT), name


# ---- entity typos and punctuation-free queries ------------------------------------------------

def test_entity_typo_misspells_an_entity_and_the_span_follows():
    cfg = NoiseConfig(entity_typo=1.0, typo=0, filler=0, lowercase_all=0, uppercase_all=0, capitalize_first=0,
                      end_punctuation=(("keep", 1.0),))
    changed = 0
    for seed in range(300):
        out = apply_noise(QUERY, cfg, random.Random(seed))
        check_spans(out)
        assert [t for t, e in out if e is None] == [t for t, e in QUERY if e is None]  # plain text untouched
        changed += [t for t, e in out if e is not None] != ENTITY_TEXT
    assert changed == 300


def test_strip_punctuation_share_reaches_entities_and_apostrophes():
    cfg = NoiseConfig(strip_punctuation=1.0, typo=0, filler=0, lowercase_all=0, uppercase_all=0,
                      capitalize_first=0, end_punctuation=(("keep", 1.0),))
    segs = [("is ", None), ("Ocean's Eleven", "title"), (" on ", None), ("Disney+", "platform"), ("?", None)]
    query, ents = check_spans(apply_noise(segs, cfg, random.Random(0)))
    assert query == "is Oceans Eleven on Disney+" and ents[0]["value"] == "Oceans Eleven"


def test_new_knobs_off_draw_nothing_so_old_recipes_keep_their_text():
    old = NoiseConfig(lowercase_all=0.4, typo=0.5, filler=0.5)
    for seed in range(100):
        a = apply_noise(QUERY, old, random.Random(seed))
        b = apply_noise(QUERY, NoiseConfig.from_mapping({**old.to_dict(), "entity_typo": 0.0}), random.Random(seed))
        assert a == b


def test_new_knobs_off_keep_old_text_too_for_disfluency_chatter_and_typo_max():
    old = NoiseConfig(lowercase_all=0.4, typo=0.5, filler=0.5, entity_typo=0.3)
    spelled_out = {**old.to_dict(), "disfluency": 0.0, "chatter": 0.0, "typo_max": 1}
    for seed in range(100):
        assert apply_noise(QUERY, old, random.Random(seed)) == \
            apply_noise(QUERY, NoiseConfig.from_mapping(spelled_out), random.Random(seed))


# ---- disfluencies and chatter (what the robustness suite's fillers and distractors cost) -------------

QUIET = dict(typo=0, filler=0, lowercase_all=0, uppercase_all=0, capitalize_first=0, end_punctuation=(("keep", 1.0),))


def test_disfluencies_go_between_words_never_inside_an_entity():
    words = ("um", "you know")
    for seed in range(200):
        out = disfluencies(QUERY, random.Random(seed), count=2, words=words, repeat_share=0.3)
        query, ents = check_spans(out)
        assert [e["value"] for e in ents] == ENTITY_TEXT
        plain_before = " ".join(t for t, e in QUERY if e is None).split()
        plain_after = " ".join(t for t, e in out if e is None).split()
        added = Counter(plain_after) - Counter(plain_before)
        # Two insertions: fillers from the list (one or two words each) or a repeated plain word.
        assert 2 <= sum(added.values()) <= 4, (query, added)
        assert set(added) <= {"um", "you", "know"} | set(plain_before), (query, added)


def test_chatter_puts_a_listed_clause_before_or_after_and_spans_follow():
    sides = Counter()
    for seed in range(100):
        query, ents = check_spans(chatter(QUERY, random.Random(seed), before=DEFAULT_CHATTER_BEFORE,
                                          after=DEFAULT_CHATTER_AFTER))
        assert [e["value"] for e in ents] == ENTITY_TEXT
        before = [c for c in DEFAULT_CHATTER_BEFORE if query.startswith(c + " ")]
        after = [c for c in DEFAULT_CHATTER_AFTER if query.endswith(" " + c)]
        assert len(before) + len(after) == 1, query
        sides["before" if before else "after"] += 1
    assert sides["before"] > 20 and sides["after"] > 20


def test_training_chatter_differs_from_the_robustness_distractors():
    """The robustness suite's distractor set must stay unseen phrasing: no clause of eval/robustness/config.yml
    may be a training chatter clause."""
    import yaml

    from eval.robustness import DEFAULT_CONFIG as ROBUSTNESS

    sets = yaml.safe_load(Path(ROBUSTNESS).read_text())["perturbations"]["distractor"]
    eval_clauses = {c.lower() for sev in ("low", "high") for side in ("before", "after") for c in sets[sev][side]}
    train_clauses = {c.lower() for c in DEFAULT_CHATTER_BEFORE + DEFAULT_CHATTER_AFTER}
    assert eval_clauses and not eval_clauses & train_clauses


def test_apply_noise_names_the_transforms_that_changed_the_text():
    cfg = NoiseConfig(**{**QUIET, "disfluency": 1.0, "chatter": 1.0, "typo": 1.0})  # 2 typos may cancel out
    for seed in range(100):
        applied: list[str] = []
        check_spans(apply_noise(QUERY, cfg, random.Random(seed), applied))
        assert applied == ["typo", "disfluency", "chatter"], applied
    applied = []
    assert apply_noise(QUERY, NoiseConfig(**QUIET), random.Random(0), applied) == QUERY and applied == []


def test_typo_max_gives_one_or_more_typos():
    from rapidfuzz.distance import Levenshtein

    clean = join_segments(QUERY)[0]
    cfg = NoiseConfig(**{**QUIET, "typo": 1.0, "typo_max": 2})
    edits = Counter(Levenshtein.distance(clean, join_segments(apply_noise(QUERY, cfg, random.Random(seed)))[0])
                    for seed in range(200))
    assert edits[1] > 20 and sum(n for d, n in edits.items() if d >= 3) > 20, edits  # 1 typo; clearly 2


def test_typo_max_and_counts_are_checked():
    with pytest.raises(ConfigError) as exc:
        NoiseConfig.from_mapping({"typo_max": 0, "disfluency_max": True, "chatter_before": [""],
                                  "disfluency_repeat_share": 2})
    assert len(exc.value.problems) == 4, exc.value.problems


def test_an_entity_typo_the_lexicon_would_refuse_is_not_applied():
    """The grammar backend vetoes entity typos on closed values their lexicon refuses; the draws are the
    same either way, so the rest of the query's noise does not move."""
    from dataclasses import replace

    segs = [("a ", None), ("movie", "media_type"), (" about ", None), ("dire wolves", "plot")]
    cfg = replace(NoiseConfig.off(), entity_typo=1.0)
    vetoed = 0
    for seed in range(40):
        a = apply_noise(segs, cfg, random.Random(seed))
        b = apply_noise(segs, cfg, random.Random(seed), entity_ok=lambda label, text: label != "media_type")
        if a[1] != segs[1]:
            assert b == segs
            vetoed += 1
        else:
            assert b == a and a[3] != segs[3]
    assert 0 < vetoed < 40
