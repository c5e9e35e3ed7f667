"""Load `taxonomy.yaml`, the single source of labels, into typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from schemas.config import ConfigError, load_yaml, unknown_keys

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


@dataclass(frozen=True)
class Taxonomy:
    intents: dict[str, Intent]
    entity_types: dict[str, EntityType]
    path: str = str(DEFAULT_TAXONOMY)

    @property
    def intent_names(self) -> list[str]:
        return list(self.intents)

    @property
    def entity_names(self) -> list[str]:
        return list(self.entity_types)

    def type_for_source(self, source: str) -> str | None:
        """The entity type whose values come from KG pool `source`, if any."""
        for et in self.entity_types.values():
            if et.source == source:
                return et.name
        return None


def load_taxonomy(path: str | Path = DEFAULT_TAXONOMY) -> Taxonomy:
    raw = load_yaml(path) or {}
    problems = unknown_keys(raw, ("version", "intents", "entity_types"), str(path))
    for section in ("intents", "entity_types"):
        if not isinstance(raw.get(section), dict) or not raw[section]:
            problems.append(f"{path}: '{section}' must be a non-empty mapping")
    if problems:
        raise ConfigError(problems)

    entity_types: dict[str, EntityType] = {}
    for name, spec in raw["entity_types"].items():
        spec = spec or {}
        where = f"{path}: entity_types.{name}"
        problems += unknown_keys(spec, ("description", "examples", "source"), where)
        entity_types[name] = EntityType(
            name=name,
            description=str(spec.get("description", "")),
            examples=tuple(str(e) for e in spec.get("examples", [])),
            source=str(spec.get("source", name)),
        )

    intents: dict[str, Intent] = {}
    for name, spec in raw["intents"].items():
        spec = spec or {}
        where = f"{path}: intents.{name}"
        problems += unknown_keys(spec, ("description", "examples", "rules"), where)
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
    return Taxonomy(intents=intents, entity_types=entity_types, path=str(path))
