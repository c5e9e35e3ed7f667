"""Named, deterministic perturbations of labelled records, for robustness tests only.

Every transform maps span-preserving segments to segments (synth.segments), so a perturbed record's
gold spans are exact: `query[start:end] == value` still holds. A transform that reaches into an entity
(typos or casing at high severity) changes the gold value to the perturbed surface text: the model is
asked to copy what the user typed, not to correct it. Perturbed records are evaluation data: never
train on them.

Transforms (configured per severity in eval/robustness/config.yml):
  typos              `count` keyboard slips (substitute, delete, transpose) via synth.noise.typo
  lowercase, uppercase, strip_punctuation    synth.noise's transforms
  fillers            synth.noise.disfluencies: `count` disfluencies inside the query: a filler ("um",
                     "I mean") at a word boundary, or a repeated word ("I I want")
  distractor         synth.noise.chatter: `count` irrelevant clauses before ("my friend said it's
                     overrated but") and after the query
  paraphrase         the record's own grammar template (or, with other_template, another template of
                     its intent with the same slot types) realized again with the record's values
  entity_typos       `count` keyboard slips inside entity values only (users misspell names)
  as_typed           lowercase and no punctuation, the way most real queries arrive
  spoken_years       each year entity said another way ("1987" -> "the late 80s", "the 90s" -> "the nineties")
  swap_names         each title/person entity of the listed `types` replaced by an open-pool name from a
                     pool built with `pool_seed` (synth/pools.py): names the model never saw in training
  split_merge        speech-to-text style: two words of an entity merged ("spider man" -> "spiderman") or
                     a compound split with a space
  coordinate         `count` entities of the listed `types` each get a second value of their type joined by
                     "and" / "or" ("themes of loyalty" -> "themes of loyalty and grief"): names from the
                     unseen pool of swap_names, other types from the KG's pools; the added value is gold
                     too, with the polarity of the one it joins ("not horror or thrillers")
  negate             `count` exclusion clauses ("..., just not {value}", "please no {value}, ...") added to
                     a record of one of `intents`, each ruling out a value of one of `types` (types the
                     taxonomy lets users exclude; one the query does not hold first) that the query does
                     not contain: names from the unseen pool of swap_names, other types from the KG's
                     pools (closed types: only values their lexicon accepts). The gold gains the value
                     with "exclude": true. The phrasings are the suite's own (eval/robustness/config.yml),
                     apart from the training grammar's clauses (synth/grammar/exclusions.yml; a test keeps
                     them disjoint), so the set measures exclusions said in words the model never saw.
An entity the user rules out stays ruled out through every transform (synth.segments labels it "!type").
A record's random draws depend only on (seed, perturbation name, severity, record id).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from synth import noise
from synth.kg import DEFAULT_KG
from synth.segments import Segment, excluded, join_segments, read_label, split_segments

SEVERITIES = ("low", "med", "high")


def typos(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
          inside_entities: bool = False, kinds: Sequence[str] = ("substitute", "delete", "transpose"),
          min_letters: int = 4) -> list[Segment]:
    return noise.typo(segments, rng, inside_entities=inside_entities, kinds=[(k, 1.0) for k in kinds],
                      min_letters=min_letters, count=count)


def entity_typos(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
                 kinds: Sequence[str] = ("substitute", "delete", "transpose"), min_letters: int = 4
                 ) -> list[Segment]:
    return noise.typo(segments, rng, kinds=[(k, 1.0) for k in kinds], min_letters=min_letters,
                      only_entities=True, count=count)


def as_typed(segments: Sequence[Segment], rng: random.Random | None = None, *,
             inside_entities: bool = False) -> list[Segment]:
    """All lowercase, no punctuation: apostrophes and entity text too when `inside_entities`."""
    out = noise.lowercase(segments, inside_entities=inside_entities)
    return noise.strip_punctuation(out, inside_entities=inside_entities, apostrophes=inside_entities)


_DECADE_WORD = re.compile(
    r"^(?:the )?(twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)$", re.I)
_WORD_DECADES = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                 "seventies": 1970, "eighties": 1980, "nineties": 1990}


def _year_of(value: str) -> tuple[int, bool] | None:
    """(a year in the era, whether the value names a single year) for a year entity, else None."""
    v = value.strip()
    if m := _DECADE_WORD.match(v):
        return _WORD_DECADES[m.group(1).lower()], False
    if re.fullmatch(r"\d{4}", v):
        return int(v), True
    if m := re.fullmatch(r"(?:the )?(?:(early|mid|late)[ -])?(\d{4}|\d{2})'?s", v, re.I):
        n = int(m.group(2))
        decade = n if n >= 100 else (1900 + n if n >= 20 else 2000 + n)
        return decade + {"early": 1, "mid": 5, "late": 8}.get((m.group(1) or "").lower(), 0), False
    return None


def spoken_years(segments: Sequence[Segment], rng: random.Random) -> list[Segment]:
    from synth.frames import year_forms  # a year said the ways the data generator knows

    out: list[Segment] = []
    for text, etype in segments:
        parsed = _year_of(text) if etype and read_label(etype)[0] == "year" else None
        if parsed is None:
            out.append((text, etype))
            continue
        year, single = parsed
        bare = lambda v: v.lower().removeprefix("the ")  # noqa: E731
        forms = [f for f in year_forms(year)[1:] if bare(f) != bare(text)]
        if not single:  # a decade: keep to decade forms (the early/mid/late part is not known)
            forms = [f for f in forms if not re.search(r"early|mid|late", f)] or forms
        form = rng.choice(forms)
        after_article = bool(out) and out[-1][1] is None and re.search(r"\b(a|an) $", out[-1][0], re.I)
        if after_article or (not single and not text.lower().startswith("the ")):
            form = form[4:]  # "a 1990s film", "late 90s" stay article-free
        if after_article:  # the article agrees with the new first word: "an 80s film"
            art = "an" if form[:1] == "8" or form[:2] in ("ei", "ea") else "a"
            out[-1] = (re.sub(r"\b(a|an) $", art + " ", out[-1][0], flags=re.I), None)
        out.append((form, etype))
    return out


@lru_cache(maxsize=4)
def _open_names(pool_seed: int) -> dict[str, list[str]]:
    from synth.pools import OpenPoolConfig, build_open_pools

    cfg = OpenPoolConfig.from_mapping({"sizes": {"title": 500, "actor": 500, "director": 500,
                                                 "character": 500, "clause": 10, "phrase": 10}})
    pools = build_open_pools(cfg, pool_seed, set(), 0.0)
    return {k: v[False] for k, v in pools.values.items()}


def swap_names(segments: Sequence[Segment], rng: random.Random, *,
               types: Sequence[str] = ("title", "actor", "director", "character"), pool_seed: int = 9001
               ) -> list[Segment]:
    names = _open_names(pool_seed)
    kind = lambda e: read_label(e)[0] if e else None  # noqa: E731 - an excluded name is a name too
    return [(rng.choice(names[kind(e)]) if kind(e) in types and kind(e) in names else t, e)
            for t, e in segments]


def split_merge(segments: Sequence[Segment], rng: random.Random, *, count: int = 1) -> list[Segment]:
    out = list(segments)
    for _ in range(count):
        spots = [(i, m) for i, (t, e) in enumerate(out) if e is not None
                 for m in re.finditer(r"[A-Za-z]{2,} [A-Za-z]{2,}|[A-Za-z]{8,}", t)]
        if not spots:
            break
        i, m = rng.choice(spots)
        text, etype = out[i]
        word = m.group()
        if " " in word:
            new = word.replace(" ", "", 1)
        else:
            cut = rng.randrange(3, len(word) - 3)
            new = word[:cut] + " " + word[cut:]
        out[i] = (text[:m.start()] + new + text[m.end():], etype)
    return out


COORDINABLE = ("genre", "mood", "theme", "platform", "language", "actor", "director", "character")


@lru_cache(maxsize=2)
def _kg_pools(kg_dir: str | Path) -> dict[str, list[str]]:
    from synth.kg import load_kg

    return load_kg(kg_dir).pools


def _like(value: str, text: str) -> str:
    """`value` in the casing of the span it joins, so "netflix" gets "hulu", not "Hulu"."""
    return value.lower() if text.islower() else value.upper() if text.isupper() else value


def coordinate(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
               types: Sequence[str] = COORDINABLE, joiners: Sequence[str] = (" and ", " or "),
               pool_seed: int = 9001, kg: str | Path = DEFAULT_KG) -> list[Segment]:
    out = list(segments)
    spots = [i for i, (_, e) in enumerate(out) if e and read_label(e)[0] in types]
    names, pools = _open_names(pool_seed), _kg_pools(kg)
    for i in sorted(rng.sample(spots, min(count, len(spots))), reverse=True):  # from the end: indices hold
        text, label = out[i]
        etype = read_label(label)[0]
        pool = [v for v in names.get(etype) or pools.get(etype, []) if v.casefold() != text.casefold()]
        if pool:  # the label, polarity included: "not horror or thrillers" rules both out
            out[i + 1:i + 1] = [(rng.choice(joiners), None), (_like(rng.choice(pool), text), label)]
    return out


@lru_cache(maxsize=1)
def _lexicons() -> dict[str, Any]:
    from schemas import load_taxonomy

    return load_taxonomy().closed_types


def _rule_out_candidates(etype: str, query: str, pool_seed: int, kg: str | Path) -> list[str]:
    """Values of `etype` a clause may rule out: unseen names for people, the KG's pool otherwise (a
    closed type's only where its lexicon accepts them), none the query already contains."""
    lexicon = _lexicons().get(etype)
    pool = _open_names(pool_seed).get(etype) or _kg_pools(kg).get(etype, [])
    folded = query.casefold()
    return [v for v in pool if v.casefold() not in folded and (lexicon is None or lexicon.accepts(v))]


def _with_clause(segments: list[Segment], phrase: str, value: str, label: str) -> list[Segment]:
    """`phrase` ("{query}, just not {value}" or "please no {value}, {query}") around the segments; a
    clause after the query goes before its closing ?/./! ("... tonight, just not horror?")."""
    head, tail = phrase.split("{value}")
    clause: list[Segment] = [(head.replace("{query}", ""), None), (value, label),
                             (tail.replace("{query}", ""), None)]
    if phrase.startswith("{query}"):
        last, kind = segments[-1] if segments else ("", None)
        stop = re.search(r"[?.!]+\s*$", last) if kind is None else None
        if stop:
            return [*segments[:-1], (last[:stop.start()], None), *clause, (stop.group(), None)]
        return [*segments, *clause]
    first, kind = segments[0] if segments else ("", None)
    if kind is None and first[:1].isupper() and not re.match(r"I\b", first):
        # the sentence now starts with the clause: "Please no horror, give me ..."
        clause[0] = (clause[0][0][:1].upper() + clause[0][0][1:], None)
        segments = [(first[:1].lower() + first[1:], None), *segments[1:]]
    return [*clause, *segments]


def negate(record: Mapping[str, Any], grammar: Any, rng: random.Random, *, count: int = 1,
           phrases: Sequence[str] = ("{query}, just not {value}",), types: Sequence[str] = ("genre",),
           intents: Sequence[str] = ("recommend",), pool_seed: int = 9001,
           kg: str | Path = DEFAULT_KG) -> list[Segment] | None:
    """`count` exclusion clauses around the record's query (None: not one of `intents`, or no value)."""
    if record["intent"] not in intents:
        return None
    segments = split_segments(record["query"], record["entities"])
    present = {e["type"] for e in record["entities"]}
    added = 0
    for _ in range(count):
        query = join_segments(segments)[0]
        # a type the query does not hold first: ruling out a second genre is less telling
        order = sorted(types, key=lambda t: (t in present, rng.random()))
        for etype in order:
            values = _rule_out_candidates(etype, query, pool_seed, kg)
            if values:
                value = _like(rng.choice(values), query)
                segments = _with_clause(segments, rng.choice(list(phrases)), value, excluded(etype))
                present.add(etype)
                added += 1
                break
    return segments if added else None


def check_negate(params: Mapping[str, Any], where: str) -> list[str]:
    """One line per bad `negate` parameter: count is a positive integer; each phrase holds {query} once,
    at its start or end, and {value} once; types are ones the taxonomy lets users rule out; intents are
    the taxonomy's."""
    from schemas import load_taxonomy

    tax = load_taxonomy()
    count = params.get("count", 1)
    problems = [] if type(count) is int and count >= 1 else [f"{where}.count: expected an integer >= 1, "
                                                             f"got {count!r}"]
    for key in ("phrases", "types", "intents"):
        if key in params and (not isinstance(params[key], list) or not params[key]):
            problems.append(f"{where}.{key}: expected a non-empty list")
            return problems
    for phrase in params.get("phrases", ()):
        text = str(phrase)
        if text.count("{value}") != 1 or text.count("{query}") != 1 or not (
                text.startswith("{query}") or text.endswith("{query}")):
            problems.append(f"{where}.phrases: '{text}' must hold {{value}} once and start or end with "
                            "{query}")
    problems += [f"{where}.types: '{t}' cannot be ruled out; choose from {', '.join(tax.excludable)}"
                 for t in params.get("types", ()) if t not in tax.excludable]
    problems += [f"{where}.intents: unknown intent '{i}'; choose from {', '.join(tax.intent_names)}"
                 for i in params.get("intents", ()) if i not in tax.intent_names]
    return problems


TRANSFORMS: dict[str, Callable[..., list[Segment]]] = {
    "typos": typos, "lowercase": noise.lowercase, "uppercase": noise.uppercase,
    "strip_punctuation": noise.strip_punctuation, "fillers": noise.disfluencies, "distractor": noise.chatter,
    "entity_typos": entity_typos, "as_typed": as_typed, "spoken_years": spoken_years,
    "swap_names": swap_names, "split_merge": split_merge, "coordinate": coordinate,
}
# Transforms that only touch entities of some types: a record without one is left as it is.
TARGET_TYPES = {"spoken_years": ("year",), "swap_names": ("title", "actor", "director", "character"),
                "coordinate": COORDINABLE}
ADDS_ENTITIES = ("coordinate", "negate")


def _slot_values(template: Any, entities: Sequence[Mapping[str, Any]]) -> dict[str, str] | None:
    """Slot name -> the record's value, matching slots to entities of the same type in order."""
    by_type: dict[str, list[str]] = {}
    for e in sorted(entities, key=lambda e: e["start"]):
        by_type.setdefault(e["type"], []).append(e["value"])
    if Counter(s.type for s in template.slots) != Counter({t: len(v) for t, v in by_type.items()}):
        return None
    return {s.name: by_type[s.type].pop(0) for s in template.slots}


def paraphrase(record: Mapping[str, Any], grammar: Any, rng: random.Random, *, other_template: bool = False,
               tries: int = 5) -> list[Segment] | None:
    """The record's values in a fresh realization of a grammar template; None when no template fits (or
    no grammar is known)."""
    if grammar is None:
        return None
    own = grammar.templates.get((record.get("meta") or {}).get("template_id") or "")
    if own is None or own.intent != record["intent"]:
        return None
    candidates = [own]
    if other_template:
        others = [t for t in grammar.for_intent(record["intent"])
                  if t.id != own.id and _slot_values(t, record["entities"]) is not None]
        candidates = sorted(others, key=lambda t: t.id) or candidates
    template = rng.choice(candidates)
    values = _slot_values(template, record["entities"])
    if values is None:
        return None
    best: list[Segment] | None = None
    for _ in range(tries):  # a template with few alternatives may give the same text back
        best = grammar.realize(template, values, rng)
        if join_segments(best)[0] != record["query"]:
            break
    return best


# Transforms that need the record (its intent, the grammar), not only its segments.
RECORD_TRANSFORMS: dict[str, Callable[..., list[Segment] | None]] = {"paraphrase": paraphrase,
                                                                    "negate": negate}
# Checks of a transform's parameters beyond their names (eval/robustness/config.py), one line per problem.
PARAM_CHECKS: dict[str, Callable[[Mapping[str, Any], str], list[str]]] = {"negate": check_negate}


@dataclass(frozen=True)
class Perturbation:
    name: str       # as in eval/robustness/config.yml, e.g. "typos"
    transform: str  # a key of TRANSFORMS or RECORD_TRANSFORMS
    severity: str   # low | med | high
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.severity}"


def perturb_record(record: Mapping[str, Any], p: Perturbation, seed: int,
                   grammar: Any = None) -> dict[str, Any]:
    """A copy of `record` with perturbed text and exact spans; unchanged (meta.perturbed false) when the
    transform does not apply or would drop an entity."""
    rng = random.Random(f"{seed}:{p.name}:{p.severity}:{record['id']}")
    segments = split_segments(record["query"], record["entities"])
    if p.transform in RECORD_TRANSFORMS:
        new = RECORD_TRANSFORMS[p.transform](record, grammar, rng, **p.params)
    else:
        new = TRANSFORMS[p.transform](segments, rng, **p.params)
    query, entities = join_segments(new) if new is not None else (record["query"], record["entities"])
    before = len(record["entities"])
    lost = len(entities) < before if p.transform in ADDS_ENTITIES else len(entities) != before
    if lost or not query.strip():
        query, entities = record["query"], record["entities"]
    meta = {**(record.get("meta") or {}), "perturbation": p.name, "severity": p.severity,
            "original_query": record["query"], "perturbed": query != record["query"]}
    return {**record, "query": query, "entities": entities, "meta": meta}


def perturb_records(records: Sequence[Mapping[str, Any]], p: Perturbation, seed: int,
                    grammar: Any = None) -> list[dict[str, Any]]:
    return [perturb_record(r, p, seed, grammar) for r in records]
