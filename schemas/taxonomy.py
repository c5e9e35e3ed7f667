"""Load `taxonomy.yaml`, the single source of labels, into typed objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from schemas.config import ConfigError, load_yaml, unknown_keys
from schemas.lexicon import Lexicon, fold, load_lexicon
from schemas.negation import Negation, load_negation

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.yaml")
_RULE_KEYS = ("requires_any", "forbids", "max_entities")


@dataclass(frozen=True)
class IntentRules:
    requires_any: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()
    max_entities: int | None = None


@dataclass(frozen=True)
class Intent:
    name: str
    description: str
    examples: tuple[str, ...] = ()
    rules: IntentRules = field(default_factory=IntentRules)


@dataclass(frozen=True)
class EntityType:
    name: str
    description: str
    examples: tuple[str, ...] = ()
    source: str = ""  # knowledge-graph pool that supplies values
    lexicon: Lexicon | None = field(default=None, compare=False, repr=False)  # set: a closed type
    # Closed types only: the open types whose value may begin with a whole value of this type and go on
    # ("1990s hong kong" a setting); every other open type's value stops where this one ends, so
    # "2011 steve carell" is a year and an actor, never one actor (decoding/grounded.py).
    prefix_of: tuple[str, ...] | None = None
    # Open types only: words (folded) a value of this type never begins with ("a", "his" for names).
    not_first: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    intents: dict[str, Intent]
    entity_types: dict[str, EntityType]
    path: str = str(DEFAULT_TAXONOMY)
    excludable: tuple[str, ...] = ()  # types a user can rule out ("exclude": true)
    exclusion_description: str = ""
    # Intents search answers with no titles (`searchable: false`). A field of its own rather than one per
    # Intent: it changes no prompt, schema or gold, so eval's prediction key leaves it out.
    unsearchable: tuple[str, ...] = ()
    # The negation cues that decide which values a user rules out (exclusion.cues; decode.polarity). They
    # change no prompt, schema or gold either: eval re-derives predictions from raw outputs on each run.
    negation: Negation | None = field(default=None, compare=False, repr=False)

    @property
    def intent_names(self) -> list[str]:
        return list(self.intents)

    @property
    def entity_names(self) -> list[str]:
        return list(self.entity_types)

    @property
    def searchable_intents(self) -> list[str]:
        """Intents search must route to a ranking (every intent but those marked `searchable: false`)."""
        return [i for i in self.intents if i not in self.unsearchable]

    @property
    def prefixes(self) -> dict[str, tuple[str, ...]]:
        """Closed types that may lead other values, each with the open types whose value may go on past it."""
        return {n: et.prefix_of for n, et in self.entity_types.items() if et.prefix_of is not None}

    @property
    def not_first(self) -> dict[str, tuple[str, ...]]:
        """Open types with words their value never begins with."""
        return {n: et.not_first for n, et in self.entity_types.items() if et.not_first}

    @property
    def closed_types(self) -> dict[str, Lexicon]:
        """Types whose values must be spans their lexicon accepts."""
        return {n: et.lexicon for n, et in self.entity_types.items() if et.lexicon is not None}

    def type_for_source(self, source: str) -> str | None:
        """The entity type whose values come from KG pool `source`, if any."""
        for et in self.entity_types.values():
            if et.source == source:
                return et.name
        return None


def load_taxonomy(path: str | Path = DEFAULT_TAXONOMY) -> Taxonomy:
    raw = load_yaml(path) or {}
    problems = unknown_keys(raw, ("version", "intents", "entity_types", "exclusion"), str(path))
    for section in ("intents", "entity_types"):
        if not isinstance(raw.get(section), dict) or not raw[section]:
            problems.append(f"{path}: '{section}' must be a non-empty mapping")
    if problems:
        raise ConfigError(problems)

    entity_types: dict[str, EntityType] = {}
    for name, spec in raw["entity_types"].items():
        spec = spec or {}
        where = f"{path}: entity_types.{name}"
        keys = ("description", "examples", "source", "lexicon", "prefix_of", "not_first")
        problems += unknown_keys(spec, keys, where)
        lexicon = None
        if spec.get("lexicon") is not None:
            try:
                lexicon = load_lexicon(Path(path).parent / str(spec["lexicon"]), name)
            except ConfigError as exc:
                problems += [f"{where}.lexicon: {p}" for p in exc.problems]
        entity_types[name] = EntityType(
            name=name,
            description=str(spec.get("description", "")),
            examples=tuple(str(e) for e in spec.get("examples", [])),
            source=str(spec.get("source", name)),
            lexicon=lexicon,
            prefix_of=None if spec.get("prefix_of") is None else tuple(str(t) for t in spec["prefix_of"]),
            not_first=tuple(fold(str(w)) for w in spec.get("not_first") or ()),
        )
        if spec.get("not_first") and spec.get("lexicon") is not None:
            problems.append(f"{where}.not_first: a closed type's lexicon already decides its spans")
        if spec.get("prefix_of") is not None and spec.get("lexicon") is None:
            problems.append(f"{where}.prefix_of: only a closed type (one with a lexicon) can lead values")
        if lexicon is not None:
            problems += [f"{where}.examples: '{e}' is not accepted by its lexicon {lexicon.path}"
                         for e in entity_types[name].examples if not lexicon.accepts(e)]
    problems += [f"{path}: entity_types.{et.name}.prefix_of: unknown entity type '{t}'"
                 for et in entity_types.values() for t in et.prefix_of or () if t not in raw["entity_types"]]
    exclusion = raw.get("exclusion") or {}
    problems += unknown_keys(exclusion, ("description", "types", "cues"), f"{path}: exclusion")
    excludable = tuple(str(t) for t in exclusion.get("types") or [])
    problems += [f"{path}: exclusion.types: unknown entity type '{t}'" for t in excludable
                 if t not in entity_types]

    negation = None
    if exclusion.get("cues"):
        try:
            negation = load_negation(Path(path).parent / str(exclusion["cues"]))
        except ConfigError as exc:
            problems += exc.problems

    intents: dict[str, Intent] = {}
    for name, spec in raw["intents"].items():
        spec = spec or {}
        where = f"{path}: intents.{name}"
        problems += unknown_keys(spec, ("description", "examples", "rules", "searchable"), where)
        if not isinstance(spec.get("searchable", True), bool):
            problems.append(f"{where}.searchable: must be true or false, got {spec['searchable']!r}")
        rules = spec.get("rules") or {}
        problems += unknown_keys(rules, _RULE_KEYS, f"{where}.rules")
        for key in ("requires_any", "forbids"):
            for t in rules.get(key, []):
                if t not in entity_types:
                    problems.append(f"{where}.rules.{key}: unknown entity type '{t}'")
        intents[name] = Intent(
            name=name,
            description=str(spec.get("description", "")),
            examples=tuple(str(e) for e in spec.get("examples", [])),
            rules=IntentRules(
                requires_any=tuple(rules.get("requires_any", [])),
                forbids=tuple(rules.get("forbids", [])),
                max_entities=rules.get("max_entities"),
            ),
        )
    if problems:
        raise ConfigError(problems)
    unsearchable = tuple(n for n, spec in raw["intents"].items() if (spec or {}).get("searchable") is False)
    return Taxonomy(intents=intents, entity_types=entity_types, path=str(path), excludable=excludable,
                    exclusion_description=str(exclusion.get("description", "")).strip(),
                    unsearchable=unsearchable, negation=negation)


def dataset_taxonomy(data: str | Path) -> Taxonomy:
    """The taxonomy dataset folder `data` was generated with (its manifest's `config.taxonomy`), so every
    stage after synth scores, searches and reports the same labels. The default taxonomy when the manifest
    names none or names the default file; a named file that is gone is refused."""
    manifest = Path(data) / "manifest.json"
    config = json.loads(manifest.read_text(encoding="utf-8")).get("config") if manifest.is_file() else None
    named = str((config or {}).get("taxonomy") or "")
    if not named:
        return load_taxonomy()
    # recipes name it relative to the repository root, where `make` runs
    path = next((p for p in (Path(named), DEFAULT_TAXONOMY.parents[1] / named) if p.is_file()), None)
    if path is None:
        raise ConfigError([f"{manifest}: config.taxonomy: '{named}' not found; restore it, or regenerate "
                           "the dataset with a recipe whose `taxonomy:` exists"])
    return load_taxonomy() if path.resolve() == DEFAULT_TAXONOMY.resolve() else load_taxonomy(path)
