"""Ranked titles from the knowledge graph for an extraction, in DuckDB SQL (sql/search, sql/models)."""

from search.query import search

__all__ = ["search"]
