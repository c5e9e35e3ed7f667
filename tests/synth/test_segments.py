"""synth.segments: offsets from segments, and the label of an excluded entity."""

from synth.segments import excluded, join_segments, read_label, split_segments


def test_an_excluded_label_becomes_exclude_true_and_survives_a_round_trip():
    segs = [("no ", None), ("horror", excluded("genre")), (", something ", None), ("cozy", "mood")]
    query, ents = join_segments(segs)
    assert query == "no horror, something cozy"
    assert ents == [{"type": "genre", "value": "horror", "start": 3, "end": 9, "exclude": True},
                    {"type": "mood", "value": "cozy", "start": 21, "end": 25}]
    assert split_segments(query, ents) == segs
    assert read_label(excluded("genre")) == ("genre", True) and read_label("genre") == ("genre", False)
