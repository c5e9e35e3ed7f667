"""Labels and JSON Schemas: the taxonomy is the single source, everything else derives from it."""

from schemas.config import ConfigError, load_yaml, read_jsonl, unknown_keys
from schemas.jsonschemas import SPLITS, extraction_json, extraction_schema, record_schema
from schemas.taxonomy import DEFAULT_TAXONOMY, EntityType, Intent, Taxonomy, load_taxonomy

__all__ = [
    "DEFAULT_TAXONOMY", "SPLITS", "ConfigError", "EntityType", "Intent", "Taxonomy",
    "extraction_json", "extraction_schema", "load_taxonomy", "load_yaml", "read_jsonl", "record_schema",
    "unknown_keys",
]
