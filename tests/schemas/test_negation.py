"""schemas/negation.py: which extracted values a negation governs, on phrasings written here (not taken
from synth's clauses), including the negative words that rule nothing out."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import ConfigError
from schemas.negation import load_negation

NEG = load_negation()


def ruled_out(query: str, *values: str) -> list[bool]:
    spans, cursor = [], 0
    for v in values:
        start = query.index(v, cursor)
        spans.append((start, start + len(v)))
        cursor = start + len(v)
    return NEG.ruled_out(query, spans)


@pytest.mark.parametrize(("query", "values", "expected"), [
    # a trigger governs to the end of its clause
    ("not a horror movie please, something romantic from the 90s", ("horror", "romantic", "the 90s"),
     [True, False, False]),
    ("any good sci-fi series that is not on netflix", ("sci-fi", "series", "netflix"), [False, False, True]),
    ("movies without tom cruise about time travel", ("tom cruise", "time travel"), [True, True]),
    ("I don't want anything creepy tonight", ("creepy",), [True]),
    ("dont want anything creepy", ("creepy",), [True]),
    ("a comedy but not with adam sandler", ("comedy", "adam sandler"), [False, True]),
    ("a thriller anything but french", ("thriller", "french"), [False, True]),
    ("I got rid of hulu so what's good on max", ("hulu", "max"), [True, False]),
    # a negated "is" after the value rules it out
    ("a heist movie as long as Ben Affleck isn't in it", ("heist", "Ben Affleck"), [False, True]),
    ("the one where Meryl Streep was not in the cast", ("Meryl Streep",), [True]),
    # negative words that rule nothing out
    ("not sure what I want, maybe a comedy", ("comedy",), [False]),
    ("not sure what I want maybe a comedy", ("comedy",), [False]),
    ("I can't remember the title, it had tom hanks", ("tom hanks",), [False]),
    ("no idea what it's called but it starred tom hanks", ("tom hanks",), [False]),
    ("why isn't dune on netflix anymore", ("netflix",), [False]),
    # a clause boundary ends the scope
    ("nothing too scary. a comedy with jim carrey", ("scary", "comedy", "jim carrey"), [True, False, False]),
    ("no horror can you find a thriller", ("horror", "thriller"), [True, False]),
])
def test_scope(query: str, values: tuple[str, ...], expected: list[bool]) -> None:
    assert ruled_out(query, *values) == expected


def test_a_trigger_inside_another_value_opens_nothing() -> None:
    query = "something like No Country for Old Men with josh brolin"
    spans = [(15, 37), (43, 54)]
    assert query[15:37] == "No Country for Old Men" and query[43:54] == "josh brolin"
    assert NEG.ruled_out(query, spans) == [False, False]
    # without the title's span its "No" would govern the name: the span is what keeps it out
    assert NEG.ruled_out(query, spans[1:]) == [True]


def test_curly_apostrophes_and_punctuation() -> None:
    assert ruled_out("I don\u2019t like \u201chorror\u201d", "horror") == [True]
    assert ruled_out("no. horror please", "horror") == [False]  # the trigger's own full stop ends its clause
    assert ruled_out("not \"horror,\" a comedy", "horror", "comedy") == [True, False]


def test_bad_file_is_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "negation.yaml"
    bad.write_text("triggers: not\nclauses: [but]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_negation(bad)
    lines = str(exc.value).splitlines()
    assert any("clauses" in line and "unknown" in line for line in lines), lines
    assert any(line.endswith("triggers: must be a list of words or phrases") for line in lines), lines
