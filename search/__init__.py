"""Ranked titles from the knowledge graph for an extraction, in DuckDB SQL (search/sql)."""

from search.query import search

__all__ = ["search"]
