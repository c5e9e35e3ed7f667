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
