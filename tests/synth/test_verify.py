from schemas import load_taxonomy
from synth.types import Frame, Realized, Slot
from synth.verify import Verifier

TAX = load_taxonomy()


def frame(intent="recommend", slots=(("genre", "fantasy"),)):
    return Frame(id="f1", intent=intent, template_id="t1", split="train",
                 slots=tuple(Slot(name=t, type=t, value=v) for t, v in slots))


def test_exact_spans_are_kept_and_record_validates():
    v = Verifier(TAX, "grammar")
    q = "a Fantasy movie please"
    rec = v(Realized(frame(), q, [{"type": "genre", "value": "Fantasy", "start": 2, "end": 9}]))
    assert rec["entities"] == [{"type": "genre", "value": "Fantasy", "start": 2, "end": 9}]
    assert rec["query"][2:9] == "Fantasy"
    assert not v.rejections


def test_wrong_span_is_repaired_when_unambiguous():
    v = Verifier(TAX, "openai")
    rec = v(Realized(frame(), "any fantasy films?", [{"type": "genre", "value": "fantasy", "start": 0, "end": 3}]))
    assert rec["entities"][0] == {"type": "genre", "value": "fantasy", "start": 4, "end": 11}
    assert v.repairs == {"span_repaired:genre": 1}


def test_missing_ambiguous_and_rule_violations_are_counted_by_reason():
    v = Verifier(TAX, "openai")
    assert v(Realized(frame(), "any horror films?", [])) is None
    assert v(Realized(frame(), "fantasy or more fantasy?", [])) is None
    assert v(Realized(frame("similar_to"), "something fantasy", [])) is None      # needs a title
    assert v(Realized(frame("out_of_scope"), "fantasy weather", [])) is None       # no entities allowed
    assert v(Realized(frame(), None, [], error="http_error")) is None
    assert v.rejections == {
        "value_not_in_query:genre": 1, "ambiguous_span:genre": 1,
        "rule:similar_to:requires_title": 1, "rule:out_of_scope:too_many_entities": 1, "http_error": 1,
    }


def test_word_boundaries_prevent_matches_inside_words():
    v = Verifier(TAX, "openai")
    f = frame("play", (("title", "Up"),))
    assert v(Realized(f, "play supper", [])) is None
    assert v(Realized(f, "play Up", []))["entities"][0]["start"] == 5


# ---- exclusions and closed types ------------------------------------------------------------------

def test_an_excluded_slot_becomes_an_entity_with_exclude_true_in_query_order():
    v = Verifier(TAX, "grammar")
    f = Frame("f2", "recommend", "t1", (Slot("excl-genre-01", "genre", "horror", exclude=True),
                                        Slot("mood", "mood", "cozy")), "train", clauses=("excl-genre-01",))
    rec = v(Realized(f, "no horror please, something cozy", []))
    assert rec["entities"] == [{"type": "genre", "value": "horror", "start": 3, "end": 9, "exclude": True},
                               {"type": "mood", "value": "cozy", "start": 28, "end": 32}]
    assert rec["meta"]["exclusion_clauses"] == ["excl-genre-01"] and "lookalike_clauses" not in rec["meta"]


def test_a_claimed_span_counts_only_with_the_same_exclude_flag():
    v = Verifier(TAX, "grammar")
    f = Frame("f3", "recommend", "t1", (Slot("x", "genre", "horror", exclude=True),), "train")
    rec = v(Realized(f, "not horror", [{"type": "genre", "value": "horror", "start": 4, "end": 10}]))
    assert rec["entities"][0]["exclude"] is True and v.repairs == {"span_repaired:genre": 1}


def test_only_excludable_types_may_be_excluded_and_requires_any_counts_wishes():
    from dataclasses import replace

    v = Verifier(TAX, "grammar")
    excluded_title = Frame("f4", "similar_to", "t1", (Slot("t", "title", "Alien", exclude=True),), "train")
    assert v(Realized(excluded_title, "not Alien", [])) is None
    # a taxonomy that lets users rule out titles: the intent's rule still wants a wished-for one
    loose = Verifier(replace(TAX, excludable=(*TAX.excludable, "title")), "grammar")
    assert loose(Realized(excluded_title, "not Alien", [])) is None
    wished = Frame("f5", "similar_to", "t1", (Slot("t", "title", "Alien"),
                                              Slot("g", "genre", "horror", exclude=True)), "train")
    assert loose(Realized(wished, "like Alien but not horror", [])) is not None
    assert v.rejections == {"exclude_not_allowed:title": 1}
    assert loose.rejections == {"rule:similar_to:requires_title": 1}


def test_a_closed_value_its_lexicon_refuses_is_rejected_by_reason():
    v = Verifier(TAX, "grammar")
    media = TAX.type_for_source("media_type")
    assert v(Realized(frame(slots=((media, "moie"),)), "a moie please", [])) is None
    assert v(Realized(frame(slots=((media, "mofie"),)), "a mofie please", [])) is not None  # a typo it forgives
    assert v.rejections == {f"lexicon_refused:{media}": 1}
