from synth.dedup import dedup, normalize_query


def rec(q, intent="recommend", ents=()):
    return {"query": q, "intent": intent, "entities": [{"type": t, "value": v} for t, v in ents]}


def test_exact_normalized_and_near_duplicates_are_dropped_by_kind():
    records = [
        rec("any good fantasy movies?", ents=[("genre", "fantasy")]),
        rec("any good fantasy movies?", ents=[("genre", "fantasy")]),        # exact
        rec("Any good fantasy movies!", ents=[("genre", "fantasy")]),        # normalized
        rec("any good fantasy moviess", ents=[("genre", "fantasy")]),        # near (typo)
        rec("any good fantasy moviess", ents=[("genre", "horror")]),         # other values: kept
    ]
    kept, dropped = dedup(records, near=True, threshold=0.95)
    assert [r["query"] for r in kept] == ["any good fantasy movies?", "any good fantasy moviess"]
    assert dropped == {"exact": 1, "normalized": 1, "near": 1}


def test_near_dedup_can_be_switched_off_and_threshold_matters():
    a, b = rec("play Inception please"), rec("play Inception now")
    assert len(dedup([a, b], near=False)[0]) == 2
    assert len(dedup([a, b], near=True, threshold=0.75)[0]) == 1
    assert len(dedup([a, b], near=True, threshold=0.99)[0]) == 2


def test_normalization_keeps_non_ascii_letters():
    assert normalize_query("  Amélie!!  the   CAFÉ ") == "amélie the café"
