"""Grammar templates: parsed once at load, realized many times into span-preserving segments.

Template language (synth/grammar/<intent>.yml; paraphrase sets in synth/grammar/lexicon.yml):
  {pool}, {pool2}  a slot filled with a value from knowledge-graph pool `pool`; a trailing digit allows
                   more slots from one pool ("{actor} and {actor2}", "{platform2} or {platform3}"), each
                   filled with a different value. The slot's entity type is
                   `tax.type_for_source(pool)`, so renaming a label needs no template change.
  {pool:form}      a slot whose value takes a shape (synth/frames.py): `bare` drops a leading article
                   ("a {year:bare} {media_type}" -> "a 1990s movie"), `clause` is a long plot told as a
                   clause ("the one where {plot:clause}"), `phrase` a qualified genre ("classic western"),
                   `name` a character without a leading role title ("plays inspector {character:name}":
                   "Inspector Jacques Clouseau" -> "Jacques Clouseau"), so a role noun in the text stays out
                   of the span.
  [a|b|c]          alternatives, nestable; an empty alternative makes text optional: "[please |]".
  @name            a paraphrase set from lexicon.yml, itself made of alternatives and other @sets.
  a/an             "a" or "an", agreeing with the word that follows (often a slot value).
Slots may not appear inside [...] or in paraphrase sets, so every realization of a template carries
exactly its slots: the labels exist before the text. A template is {id, text, weight (default 1)}.
A composition ({id, head, clauses, clauses_per_query, variants, weight}) is expanded at load into
`variants` ordinary templates, each the head followed by a seeded ordered subset of the clauses
("@want_one a/an {genre} {media_type}" + "@set_in {setting}" + "@with_plot {plot}"), so that the phrasings
grow combinatorially and the model meets each clause in many positions and company instead of one
fixed sequence of types. Each variant is its own template (id "<id>.<clause indices>", weight/variants),
so splits, weights and audits treat it like any other; which clause orders are held out is the split's
hash draw.
After realization, doubled spaces left by empty alternatives, spaces before punctuation and spaces at
the ends are removed from template text; slot values are never touched, so entity spans stay exact.

Clauses (synth/grammar/exclusions.yml, same language) go around a template's text, before or after it:
an *exclusion* clause has exactly one slot, whose value the user rules out ("not a/an {genre}[ please|],",
"[,|] but nothing too {mood}"); its segment is labelled excluded (synth.segments.EXCLUDE), so the record's
entity carries "exclude": true. A *look-alike* clause has no slot: a negative word that rules nothing out
("not sure what I want,", "can't remember the title but"). A clause is {id, text, where: before | after,
weight, intents}; it is joined to the template by one space (write its punctuation in its text), and the
template's closing ?/./! moves behind the last clause after it. synth/exclusions.py picks which frames get
clauses.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from schemas import ConfigError, Intent, Taxonomy, load_yaml, unknown_keys
from schemas.config import did_you_mean
from synth.noise import tidy_spaces
from synth.segments import Segment, excluded

DEFAULT_GRAMMAR = Path(__file__).with_name("grammar")
LEXICON = "lexicon.yml"
CLAUSES = "exclusions.yml"  # exclusion and look-alike clauses, not a template file
CLAUSE_FILE_KEYS = ("exclusions", "lookalikes")
CLAUSE_KEYS = ("id", "text", "where", "weight", "intents")
WHERE = ("before", "after")
FILE_KEYS = ("intent", "templates", "compositions")
TEMPLATE_KEYS = ("id", "text", "weight")
COMPOSITION_KEYS = ("id", "head", "clauses", "clauses_per_query", "variants", "weight")
# between two clauses, and before the last one: "featuring X, set in Y and with themes of Z"
JOIN = "[, | ]"
JOIN_LAST = "[, | |, and | and ]"

_TEXT = re.compile(r"[^\[\]|{}@]+")
_SLOT = re.compile(r"\{([a-z][a-z_]*?)([0-9]?)(?::([a-z]+))?\}")
# slot form -> the pool it needs (None: any); `name` is a character's name without a leading role title
FORMS = {"bare": None, "clause": "plot", "phrase": "genre", "name": "character"}
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_A_AN = re.compile(r"\b([Aa])/an\b")
_AN_PREFIXES = ("hour", "honest", "honor", "heir", "8", "11", "18")
_A_PREFIXES = ("eu", "one", "once", "uni", "use", "usu", "ufo")
_END = re.compile(r"[?.!\u2026]+$")


class _Slot(NamedTuple):
    name: str
    type: str


class _Choice(NamedTuple):
    options: tuple[tuple[Any, ...], ...]  # each option is a sequence of str | _Slot | _Choice


class _Ref(NamedTuple):
    name: str  # an @set, replaced by its _Choice at load


class _Syntax(Exception):
    """A problem in one template or set text; the loader adds file and id."""


class _Broken(Exception):
    """The text uses a set whose own problem is already reported."""


@dataclass(frozen=True)
class SlotSpec:
    name: str  # as written in the template: "actor2"
    pool: str  # knowledge-graph pool: "actor"
    type: str  # entity type from the taxonomy
    form: str = ""  # value shape: "" | bare | clause | phrase (FORMS)


@dataclass(frozen=True)
class Template:
    id: str
    intent: str
    text: str
    weight: float
    slots: tuple[SlotSpec, ...]
    tree: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    composition: str = ""  # the composition this template is a variant of ("" for a written template)


@dataclass(frozen=True)
class Clause:
    """Text put before or after a template's text (synth/grammar/exclusions.yml)."""

    id: str
    kind: str  # "exclusion": one slot, its value ruled out | "lookalike": no slot, a negative word only
    text: str
    where: str  # before | after the template's text
    weight: float
    intents: tuple[str, ...]  # () = any intent the recipe's exclusions section lists
    slot: SlotSpec | None  # the excluded slot; None for a look-alike
    tree: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    def fits(self, intent: Intent) -> bool:
        """Usable in a frame of `intent`: listed (or no list), and its type not forbidden there."""
        if self.intents and intent.name not in self.intents:
            return False
        return self.slot is None or self.slot.type not in intent.rules.forbids


def parse(text: str, *, slots_allowed: bool, forms: dict[str, str] | None = None
          ) -> tuple[tuple[Any, ...], list[str]]:
    """Text -> (sequence with unresolved @refs, slot names in order); raises _Syntax. Slot forms
    ("{year:bare}") go into `forms` (slot name -> form) when given."""
    pos = 0
    slots: list[str] = []

    def seq(depth: int) -> tuple[Any, ...]:
        nonlocal pos
        items: list[Any] = []
        while pos < len(text):
            ch = text[pos]
            if ch in "|]":
                if depth == 0:
                    raise _Syntax(f"'{ch}' at column {pos + 1} outside [...]")
                break
            if ch == "[":
                opened, pos = pos, pos + 1
                options = [seq(depth + 1)]
                while pos < len(text) and text[pos] == "|":
                    pos += 1
                    options.append(seq(depth + 1))
                if pos >= len(text):
                    raise _Syntax(f"'[' at column {opened + 1} is never closed with ']'")
                pos += 1
                if not any(options):
                    raise _Syntax(f"'[...]' at column {opened + 1} has only empty alternatives")
                items.append(_Choice(tuple(options)))
            elif ch == "{":
                m = _SLOT.match(text, pos)
                if not m:
                    raise _Syntax(f"bad slot at column {pos + 1}: write {{pool}}, {{pool2}} or {{pool:form}} "
                                  "(lowercase)")
                if depth or not slots_allowed:
                    where = "inside [...]" if depth else "in a paraphrase set"
                    raise _Syntax(f"slot {m.group()} {where}: slots must be plain template text so every "
                                  "realization carries them; write a second template instead")
                slots.append(m.group(1) + m.group(2))
                if m.group(3) is not None:
                    need = FORMS.get(m.group(3), "?")
                    if need == "?":
                        raise _Syntax(f"slot {m.group()}: unknown form '{m.group(3)}'; "
                                      f"forms: {', '.join(FORMS)}")
                    if need is not None and m.group(1) != need:
                        raise _Syntax(f"slot {m.group()}: form '{m.group(3)}' is for pool '{need}' only")
                    if forms is not None:
                        forms[m.group(1) + m.group(2)] = m.group(3)
                items.append(_Slot(m.group(1) + m.group(2), ""))
                pos = m.end()
            elif ch == "}":
                raise _Syntax(f"'}}' at column {pos + 1} without '{{'")
            elif ch == "@":
                m = _NAME.match(text, pos + 1)
                if not m:
                    raise _Syntax(f"'@' at column {pos + 1} must be followed by a set name")
                items.append(_Ref(m.group()))
                pos = m.end()
            else:
                m = _TEXT.match(text, pos)
                assert m is not None
                items.append(m.group())
                pos = m.end()
        return tuple(items)

    return seq(0), slots


class _Lexicon:
    """Paraphrase sets, resolved into shared _Choice nodes; problems are collected, not raised."""

    def __init__(self, raw: dict[str, list[tuple[Any, ...]] | None], where: str):
        # raw[name] is None for a set whose own text failed to parse (already reported)
        self.raw, self.where = raw, where
        self.sets: dict[str, _Choice | None] = {}
        self.problems: list[str] = []
        for name in raw:
            try:
                self._compile(name, ())
            except (_Syntax, _Broken) as exc:
                if isinstance(exc, _Syntax):
                    self.problems.append(f"{where}: set '{name}': {exc}")

    def _compile(self, name: str, stack: tuple[str, ...]) -> _Choice:
        if name in stack:
            raise _Syntax("cycle " + " -> ".join(f"@{n}" for n in (*stack, name)))
        if name not in self.sets:
            self.sets[name] = None  # a failure below leaves it marked broken
            items = self.raw[name]
            if items is not None:
                self.sets[name] = _Choice(tuple(self.resolve(o, (*stack, name)) for o in items))
        choice = self.sets[name]
        if choice is None:
            raise _Broken(name)
        return choice

    def resolve(self, seq: tuple[Any, ...], stack: tuple[str, ...] = ()) -> tuple[Any, ...]:
        out: list[Any] = []
        for item in seq:
            if isinstance(item, _Ref):
                if item.name not in self.raw:
                    hint = did_you_mean(f"@{item.name}", [f"@{n}" for n in self.raw])
                    raise _Syntax(f"unknown paraphrase set '@{item.name}'{hint}; define it in {self.where}")
                out.append(self._compile(item.name, stack))
            elif isinstance(item, _Choice):
                out.append(_Choice(tuple(self.resolve(o, stack) for o in item.options)))
            else:
                out.append(item)
        return tuple(out)


def _load_lexicon(path: Path, problems: list[str]) -> _Lexicon:
    try:
        raw = load_yaml(path) or {}
    except ConfigError as exc:
        problems.extend(exc.problems)
        return _Lexicon({}, str(path))
    problems += unknown_keys(raw, ("sets",), str(path))
    sets: dict[str, list[tuple[Any, ...]] | None] = {}
    for name, items in (raw.get("sets") or {}).items():
        where = f"{path}: set '{name}'"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(f"{where}: a set name is lowercase letters, digits and '_'")
        elif not isinstance(items, list) or not items:
            problems.append(f"{where}: must be a non-empty list of alternatives")
        else:
            try:
                sets[name] = [parse(str(item), slots_allowed=False)[0] for item in items]
            except _Syntax as exc:
                problems.append(f"{where}: {exc}")
                sets[name] = None
    lexicon = _Lexicon(sets, str(path))
    problems += lexicon.problems
    return lexicon


def _rule_problems(intent: Intent, types: list[str]) -> list[str]:
    """The taxonomy's per-intent rules, applied to a template's slot types."""
    rules, out = intent.rules, []
    if rules.requires_any and not set(types) & set(rules.requires_any):
        out.append(f"intent '{intent.name}' needs a slot of type {' or '.join(rules.requires_any)} "
                   "(taxonomy rule requires_any)")
    if bad := sorted(set(types) & set(rules.forbids)):
        out.append(f"intent '{intent.name}' forbids slots of type {', '.join(bad)} (taxonomy rule forbids)")
    if rules.max_entities is not None and len(types) > rules.max_entities:
        out.append(f"intent '{intent.name}' allows at most {rules.max_entities} slots, found {len(types)} "
                   "(taxonomy rule max_entities)")
    return out


def _load_templates(path: Path, tax: Taxonomy, lexicon: _Lexicon, problems: list[str]) -> list[Template]:
    try:
        raw = load_yaml(path) or {}
    except ConfigError as exc:
        problems.extend(exc.problems)
        return []
    problems += unknown_keys(raw, FILE_KEYS, str(path))
    intent = raw.get("intent")
    if intent not in tax.intents:
        hint = did_you_mean(str(intent), tax.intents)
        problems.append(f"{path}: intent '{intent}' is not in {tax.path}{hint}")
        return []
    if not isinstance(raw.get("templates"), list) or not raw["templates"]:
        problems.append(f"{path}: 'templates' must be a non-empty list")
        return []
    out = []
    # (where, spec, composition id): written templates first, then each composition's variants
    specs: list[tuple[str, Any, str]] = [(f"{path}: templates[{i}]", spec, "")
                                         for i, spec in enumerate(raw["templates"])]
    compositions = raw.get("compositions") or []
    if not isinstance(compositions, list):
        problems.append(f"{path}: 'compositions' must be a list")
        compositions = []
    for i, comp in enumerate(compositions):
        specs += _expand_composition(comp, f"{path}: compositions[{i}]", problems)
    for where, spec, composition in specs:
        where += f" ({spec.get('id')})" if isinstance(spec, dict) else ""
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a mapping with id, text and optional weight")
            continue
        found = unknown_keys(spec, TEMPLATE_KEYS, where)
        tid, text, weight = spec.get("id"), spec.get("text"), spec.get("weight", 1)
        if not isinstance(tid, str) or not tid:
            found.append(f"{where}: 'id' must be a non-empty string")
        elif "." in tid and not composition:
            found.append(f"{where}: 'id' may not contain '.' (composition variants are named <id>.<clauses>)")
        if not isinstance(text, str) or not text.strip():
            found.append(f"{where}: 'text' must be a non-empty string")
        found += _weight_problems(weight, where)
        if found:
            problems += found
            continue
        try:
            forms: dict[str, str] = {}
            seq, names = parse(text, slots_allowed=True, forms=forms)
            tree = lexicon.resolve(seq)
        except _Syntax as exc:
            problems.append(f"{where}: {exc}")
            continue
        except _Broken:
            continue  # the set's own problem is reported once, under lexicon.yml
        slots = _slot_specs(names, forms, tax, where, found)
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            found.append(f"{where}: slot {{{dupes[0]}}} appears twice; "
                         f"number the second one ({{{dupes[0]}2}})")
        found += [f"{where}: {p}" for p in _rule_problems(tax.intents[intent], [s.type for s in slots])]
        if found:
            problems += found
            continue
        types = {s.name: s.type for s in slots}
        out.append(Template(tid, intent, text, float(weight), tuple(slots), _typed(tree, types), composition))
    return out


def _slot_specs(names: list[str], forms: dict[str, str], tax: Taxonomy, where: str,
                found: list[str]) -> list[SlotSpec]:
    pools = sorted({et.source for et in tax.entity_types.values()})
    slots = []
    for name in names:
        pool = name.rstrip("0123456789")
        etype = tax.type_for_source(pool)
        if etype is None:
            found.append(f"{where}: slot {{{name}}}: pool '{pool}' supplies no entity type in "
                         f"{tax.path}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}")
        slots.append(SlotSpec(name, pool, etype or "", forms.get(name, "")))
    return slots


def _load_clauses(path: Path, tax: Taxonomy, lexicon: _Lexicon, taken: set[str],
                  problems: list[str]) -> dict[str, Clause]:
    """exclusions.yml -> clauses by id; problems collected. Every type the taxonomy lets users rule
    out needs at least one exclusion clause, so no excludable type is missing from the data."""
    try:
        raw = load_yaml(path) or {}
    except ConfigError as exc:
        problems.extend(exc.problems)
        return {}
    problems += unknown_keys(raw, CLAUSE_FILE_KEYS, str(path))
    out: dict[str, Clause] = {}
    for kind, key in (("exclusion", "exclusions"), ("lookalike", "lookalikes")):
        specs = raw.get(key) or []
        if not isinstance(specs, list):
            problems.append(f"{path}: '{key}' must be a list of clauses")
            continue
        for i, spec in enumerate(specs):
            clause = _clause(spec, kind, f"{path}: {key}[{i}]", tax, lexicon, problems)
            if clause is None:
                continue
            if clause.id in out or clause.id in taken:
                problems.append(f"{path}: {key}[{i}]: id '{clause.id}' is already used")
                continue
            out[clause.id] = clause
    covered = {c.slot.type for c in out.values() if c.slot is not None}
    if raw.get("exclusions"):
        problems += [f"{path}: no exclusion clause for type '{t}' (schemas/taxonomy.yaml exclusion.types); "
                     f"add one with a {{{tax.entity_types[t].source}}} slot" for t in tax.excludable
                     if t not in covered]
    return out


def _clause(spec: Any, kind: str, where: str, tax: Taxonomy, lexicon: _Lexicon,
            problems: list[str]) -> Clause | None:
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a mapping with {', '.join(CLAUSE_KEYS)}")
        return None
    where += f" ({spec.get('id')})"
    found = unknown_keys(spec, CLAUSE_KEYS, where)
    cid, text, side = spec.get("id"), spec.get("text"), spec.get("where")
    weight, intents = spec.get("weight", 1), spec.get("intents") or []
    if not isinstance(cid, str) or not cid or "." in cid:
        found.append(f"{where}: 'id' must be a non-empty string without '.'")
    if not isinstance(text, str) or not text.strip():
        found.append(f"{where}: 'text' must be a non-empty string")
    if side not in WHERE:
        found.append(f"{where}: 'where' must be one of {', '.join(WHERE)}, got {side!r}")
    found += _weight_problems(weight, where)
    if not isinstance(intents, list) or any(i not in tax.intents for i in intents):
        bad = next((i for i in intents if i not in tax.intents), intents) if isinstance(intents, list) \
            else intents
        found.append(f"{where}: 'intents' must be a list of intents from {tax.path}, got {bad!r}"
                     f"{did_you_mean(str(bad), tax.intents)}")
    if found:
        problems += found
        return None
    try:
        forms: dict[str, str] = {}
        seq, names = parse(text, slots_allowed=True, forms=forms)
        tree = lexicon.resolve(seq)
    except _Syntax as exc:
        problems.append(f"{where}: {exc}")
        return None
    except _Broken:
        return None
    slots = _slot_specs(names, forms, tax, where, found)
    want = 1 if kind == "exclusion" else 0
    if len(slots) != want:
        found.append(f"{where}: an {kind} clause has exactly {want} slot{'s' if want != 1 else ''}, "
                     f"found {len(slots)}")
    elif slots and slots[0].type and slots[0].type not in tax.excludable:
        found.append(f"{where}: type '{slots[0].type}' cannot be excluded (not in exclusion.types of "
                     f"{tax.path})")
    if found:
        problems += found
        return None
    slot = slots[0] if slots else None
    labels = {slot.name: excluded(slot.type)} if slot else {}
    return Clause(cid, kind, text, side, float(weight), tuple(intents), slot, _typed(tree, labels))


def _weight_problems(weight: Any, where: str) -> list[str]:
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        return [f"{where}: 'weight' must be a positive number, got {weight!r}"]
    return []


def _expand_composition(comp: Any, where: str, problems: list[str]) -> list[tuple[str, dict[str, Any], str]]:
    """One composition -> its variants as template specs (where, {id, text, weight}, its id); the
    variants are a seeded draw (by the composition's id) of distinct ordered clause subsets, so the same
    YAML always gives the same templates and ids."""
    if not isinstance(comp, dict):
        problems.append(f"{where}: must be a mapping with {', '.join(COMPOSITION_KEYS)}")
        return []
    where += f" ({comp.get('id')})"
    found = unknown_keys(comp, COMPOSITION_KEYS, where)
    cid, head, clauses = comp.get("id"), comp.get("head"), comp.get("clauses")
    per_query, variants = comp.get("clauses_per_query", [1, 3]), comp.get("variants")
    weight = comp.get("weight", 1)
    if not isinstance(cid, str) or not cid or "." in cid:
        found.append(f"{where}: 'id' must be a non-empty string without '.'")
    if not isinstance(head, str) or not head.strip():
        found.append(f"{where}: 'head' must be a non-empty string")
    if not isinstance(clauses, list) or len(clauses) < 2 or not all(isinstance(c, str) and c.strip()
                                                                      for c in clauses):
        found.append(f"{where}: 'clauses' must be a list of at least two non-empty strings")
    if not (isinstance(per_query, list) and len(per_query) == 2 and all(type(n) is int for n in per_query)
            and 1 <= per_query[0] <= per_query[1] <= (len(clauses) if isinstance(clauses, list) else 0)):
        found.append(f"{where}: 'clauses_per_query' must be [min, max] with 1 <= min <= max <= the number "
                     f"of clauses, got {per_query!r}")
    if type(variants) is not int or variants < 1:
        found.append(f"{where}: 'variants' must be a whole number >= 1, got {variants!r}")
    found += _weight_problems(weight, where)
    if not found:
        names = [m.group(1) + m.group(2) for part in (head, *clauses) for m in _SLOT.finditer(part)]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            found.append(f"{where}: slot {{{dupes[0]}}} appears twice in the head and clauses; number the "
                         f"second one ({{{dupes[0]}2}})")
    if found:
        problems += found
        return []
    lo, hi = per_query
    possible = sum(math.perm(len(clauses), k) for k in range(lo, hi + 1))
    if variants > possible:
        problems.append(f"{where}: 'variants' is {variants} but only {possible} ordered clause subsets of "
                        f"{lo}-{hi} clauses exist")
        return []
    rng = random.Random(f"composition:{cid}")
    orders: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    while len(orders) < variants:
        order = tuple(rng.sample(range(len(clauses)), rng.randint(lo, hi)))
        if order not in seen:
            seen.add(order)
            orders.append(order)
    out = []
    for order in orders:
        parts = [clauses[j].strip() for j in order]
        body = parts[0] if len(parts) == 1 else JOIN.join(parts[:-1]) + JOIN_LAST + parts[-1]
        out.append((where, {"id": f"{cid}.{'-'.join(map(str, order))}", "text": f"{head.strip()} {body}",
                            "weight": float(weight) / variants}, cid))
    return out


def _typed(seq: tuple[Any, ...], types: Mapping[str, str]) -> tuple[Any, ...]:
    """Stamp each slot node with its entity type (slots are never inside choices, so one level)."""
    return tuple(_Slot(i.name, types[i.name]) if isinstance(i, _Slot) else i for i in seq)


def _walk(seq: tuple[Any, ...], rng: random.Random, out: list[Any]) -> None:
    for item in seq:
        if isinstance(item, str) or isinstance(item, _Slot):
            out.append(item)
        else:
            options = item.options
            _walk(options[rng.randrange(len(options))] if len(options) > 1 else options[0], rng, out)


def article(following: str) -> str:
    """"a" or "an" before `following` (a word or a phrase)."""
    word = following.lower()
    if word.startswith(_AN_PREFIXES):
        return "an"
    return "an" if word[:1] in ("a", "e", "i", "o", "u") and not word.startswith(_A_PREFIXES) else "a"


def _agree_articles(segments: list[Segment]) -> list[Segment]:
    out = list(segments)
    for i, (text, etype) in enumerate(out):
        if etype is not None or "/an" not in text:
            continue
        rest = "".join(t for t, _ in out[i + 1:]).lstrip()

        def pick(m: re.Match[str], text: str = text, rest: str = rest) -> str:
            following = text[m.end():].lstrip() or rest
            art = article(following)
            return art.capitalize() if m.group(1) == "A" else art

        out[i] = (_A_AN.sub(pick, text), None)
    return out


def count_variants(seq: tuple[Any, ...]) -> int:
    """How many derivations a tree has (an upper bound on its distinct surface forms)."""
    n = 1
    for item in seq:
        if isinstance(item, _Choice):
            n *= sum(count_variants(o) for o in item.options)
    return n


@dataclass(frozen=True)
class Grammar:
    templates: dict[str, Template]
    folder: Path
    clauses: dict[str, Clause] = field(default_factory=dict)  # exclusions.yml, when the folder has one

    @classmethod
    def load(cls, folder: str | Path, tax: Taxonomy, compositions: bool = True) -> Grammar:
        """Every <intent>.yml in `folder` plus lexicon.yml and exclusions.yml (optional); all problems
        raised at once as ConfigError. compositions=False leaves the composition variants out (they are
        still checked)."""
        folder = Path(folder)
        problems: list[str] = []
        lexicon = _load_lexicon(folder / LEXICON, problems)
        files = sorted(p for p in folder.glob("*.yml") if p.name not in (LEXICON, CLAUSES))
        if not files:
            problems.append(f"{folder}: no template files; add one <intent>.yml per intent")
        templates: dict[str, Template] = {}
        origin: dict[str, Path] = {}
        for path in files:
            for t in _load_templates(path, tax, lexicon, problems):
                if t.composition and not compositions:
                    continue
                if t.id in templates:
                    problems.append(f"{path}: template id '{t.id}' is already used in {origin[t.id]}")
                    continue
                templates[t.id], origin[t.id] = t, path
        clauses = (_load_clauses(folder / CLAUSES, tax, lexicon, set(templates), problems)
                   if (folder / CLAUSES).is_file() else {})
        if problems:
            raise ConfigError(problems)
        return cls(templates, folder, clauses)

    def for_intent(self, intent: str) -> list[Template]:
        return [t for t in self.templates.values() if t.intent == intent]

    def realize(self, template: Template, values: Mapping[str, str], rng: random.Random) -> list[Segment]:
        """One surface form of `template` with `values` (slot name -> text) as typed segments."""
        names = [s.name for s in template.slots]
        missing, extra = set(names) - set(values), set(values) - set(names)
        if missing or extra:
            raise ValueError(f"template {template.id}: missing slot values {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        if empty := sorted(n for n in names if not values[n]):
            raise ValueError(f"template {template.id}: empty value for slot {empty[0]}")
        return _segments(template.tree, values, rng)

    def realize_with_clauses(self, template: Template, values: Mapping[str, str],
                             clauses: list[tuple[Clause, str | None]], rng: random.Random) -> list[Segment]:
        """`template` realized, each clause (with its slot's value; None for a look-alike) joined before
        or after it by one space. The template's closing ?/./! moves behind the clauses after it:
        "is there one with X, but not Y?" rather than "is there one with X?, but not Y"."""
        main = self.realize(template, values, rng)
        before: list[Segment] = []
        after: list[Segment] = []
        for clause, value in clauses:
            if (clause.slot is None) != (value is None) or value == "":
                raise ValueError(f"clause {clause.id}: needs {'a value' if clause.slot else 'no value'}")
            segs = _segments(clause.tree, {clause.slot.name: value} if clause.slot and value else {}, rng)
            if clause.where == "before":
                before += [*segs, (" ", None)]
            else:
                after += [(" ", None), *segs]
        end: list[Segment] = []
        if after and main and main[-1][1] is None and (m := _END.search(main[-1][0])):
            main = [*main[:-1], (main[-1][0][:m.start()], None)]
            end = [(m.group(), None)]
        return tidy_spaces([*before, *main, *after, *end])


def _segments(tree: tuple[Any, ...], values: Mapping[str, str], rng: random.Random) -> list[Segment]:
    """One walk of a typed tree with slot values filled in, as tidied segments."""
    parts: list[Any] = []
    _walk(tree, rng, parts)
    segments: list[Segment] = []
    buf: list[str] = []
    for p in parts:
        if isinstance(p, str):
            buf.append(p)
            continue
        if buf:
            segments.append(("".join(buf), None))
            buf = []
        segments.append((values[p.name], p.type))
    if buf:
        segments.append(("".join(buf), None))
    return tidy_spaces(_agree_articles(segments))
