"""Answered requests kept in sqlite, so a rerun or an interrupted run resumes without HTTP."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from apiclient.messages import ChatResult

CACHE_FILE = "openai_cache.sqlite"


class ResponseCache:
    """Answered requests in sqlite, committed one by one so an interrupted run loses nothing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("create table if not exists responses (key text primary key, content text, "
                         "prompt_tokens integer, completion_tokens integer, finish_reason text, "
                         "created real)")

    @classmethod
    def in_dir(cls, folder: str | Path) -> ResponseCache:
        return cls(Path(folder) / CACHE_FILE)

    def get(self, key: str) -> ChatResult | None:
        row = self._db.execute("select content, prompt_tokens, completion_tokens, finish_reason "
                               "from responses where key = ?", (key,)).fetchone()
        if row is None:
            return None
        return ChatResult(row[0], row[1], row[2], cached=True, finish_reason=row[3])

    def put(self, key: str, result: ChatResult) -> None:
        self._db.execute("insert or replace into responses values (?, ?, ?, ?, ?, ?)",
                         (key, result.content, result.prompt_tokens, result.completion_tokens,
                          result.finish_reason, time.time()))
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("select count(*) from responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
