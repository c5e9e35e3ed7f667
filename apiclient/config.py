"""The client's settings, checked as a whole, and the transport rules that keep the API key safe."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlparse

from schemas.config import ConfigError, unknown_keys

RESPONSE_FORMATS = ("json_schema", "json_object_schema", "none")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
LOCAL_DUMMY_KEY = "sk-local-no-key"  # local servers ignore the key, but the openai client wants one


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"  # NAME of the env var; null only for a local server
    response_format: str = "json_schema"        # json_schema | json_object_schema (llama.cpp) | none
    temperature: float = 0.7
    max_tokens: int = 256
    concurrency: int = 8
    rpm: float | None = None                    # requests per minute; null = unlimited
    tpm: float | None = None                    # tokens per minute; null = unlimited
    max_retries: int = 5
    timeout_s: float = 60.0
    backoff_base_s: float = 1.0                 # first retry waits up to this, doubling each time
    backoff_max_s: float = 60.0
    price_per_1m_input: float = 0.0             # USD per 1M prompt tokens
    price_per_1m_output: float = 0.0            # USD per 1M completion tokens
    cache_dir: str | None = None                # folder of openai_cache.sqlite; null = caller's output folder
    max_consecutive_failures: int = 10          # connection failures/timeouts in a row that stop the run
    max_error_share: float = 0.5                # share of failed requests that stops the run
    error_share_min_requests: int = 20          # finished requests before the share is judged
    request_deadline_s: float | None = None     # whole attempt, first byte to last; null = 2 x timeout_s
    max_response_bytes: int = 1_000_000         # larger bodies (after gunzip) are refused
    allow_insecure_http: bool = False           # true: allow http:// to a non-local host (key in clear text)

    def __post_init__(self) -> None:
        # Resolved here so the manifest records the deadline that applied, not null.
        if self.request_deadline_s is None:
            object.__setattr__(self, "request_deadline_s", 2 * self.timeout_s)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> ClientConfig:
        """Build from parsed YAML, reporting every problem at once (one line each, naming `where`)."""
        names = [f.name for f in fields(cls)]
        problems = unknown_keys(data, names, where)
        for req in ("base_url", "model"):
            if not data.get(req):
                problems.append(f"{where}: '{req}' is required")
        problems += _check_values(data, where)
        if problems:
            raise ConfigError(problems)
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def is_local(self) -> bool:
        return is_local_url(self.base_url)


def is_local_url(url: str) -> bool:
    """True for this machine only: localhost and loopback addresses, never a name that merely starts so."""
    host = urlparse(url).hostname or ""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_url_problem(url: Any, allow_insecure_http: Any, where: str) -> str | None:
    """Why plain http to `url` is refused, or None: the key would cross the network in clear text."""
    if not isinstance(url, str) or not url.startswith("http://") or is_local_url(url) \
            or allow_insecure_http is True:
        return None
    return (f"{where}.base_url: '{url}' is plain http to a non-local host and would send the API key in "
            "clear text: use https://, or set allow_insecure_http: true to accept that")


def check_transport(cfg: ClientConfig) -> None:
    """The same refusal for a config built in code (a manifest, a test), before any request."""
    if problem := insecure_url_problem(cfg.base_url, cfg.allow_insecure_http, "openai"):
        raise ConfigError([problem])


def _check_values(data: Mapping[str, Any], where: str) -> list[str]:
    problems = [f"{where}.{key}: expected a string, got {data[key]!r}"
                for key in ("base_url", "model", "api_key_env", "cache_dir")
                if data.get(key) is not None and not isinstance(data[key], str)]
    if "response_format" in data and data["response_format"] not in RESPONSE_FORMATS:
        problems.append(f"{where}.response_format: '{data['response_format']}' is not one of "
                        f"{', '.join(RESPONSE_FORMATS)}")
    positive = ("max_tokens", "concurrency", "rpm", "tpm", "timeout_s", "backoff_max_s",
                "max_consecutive_failures", "error_share_min_requests", "max_error_share",
                "request_deadline_s", "max_response_bytes")
    non_negative = ("temperature", "max_retries", "backoff_base_s", "price_per_1m_input",
                    "price_per_1m_output")
    for key in positive + non_negative:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}.{key}: expected a number, got {value!r}")
        elif value < 0 or (key in positive and value == 0):
            problems.append(f"{where}.{key}: must be {'> 0' if key in positive else '>= 0'}, got {value}")
    size = data.get("max_response_bytes")
    if isinstance(size, float):
        problems.append(f"{where}.max_response_bytes: expected an integer, got {size!r}")
    insecure = data.get("allow_insecure_http")
    if insecure is not None and not isinstance(insecure, bool):
        problems.append(f"{where}.allow_insecure_http: expected true or false, got {insecure!r}")
    share = data.get("max_error_share")
    if isinstance(share, int | float) and not isinstance(share, bool) and share > 1:
        problems.append(f"{where}.max_error_share: must be a share in (0, 1], got {share}")
    base_url = data.get("base_url")
    if base_url and not str(base_url).startswith(("http://", "https://")):
        problems.append(f"{where}.base_url: '{base_url}' must start with http:// or https://")
    if problem := insecure_url_problem(base_url, insecure, where):
        problems.append(problem)
    return problems


def resolve_api_key(cfg: ClientConfig) -> str:
    """The key from the env var named in the config; a dummy for local servers without one."""
    if cfg.api_key_env is None:
        if cfg.is_local:
            return LOCAL_DUMMY_KEY
        raise ConfigError([f"api_key_env is null but base_url {cfg.base_url} is not a local server: "
                           "set api_key_env to the NAME of the env var that holds the key"])
    key = os.environ.get(cfg.api_key_env)
    if not key:
        raise ConfigError([f"env var {cfg.api_key_env} (api_key_env) is not set: export it with the API key "
                           f"for {cfg.base_url}, or set api_key_env: null for a local server"])
    return key


def response_format_for(mode: str, schema: dict[str, Any], name: str = "response") -> dict[str, Any] | None:
    """The `response_format` body field for a mode; llama.cpp's server rejects the standard json_schema."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "none":
        return None
    raise ValueError(f"response_format mode '{mode}' is not one of {', '.join(RESPONSE_FORMATS)}")


def public_config(cfg: ClientConfig) -> dict[str, Any]:
    """The resolved config for a manifest: names the key's env var, never holds the key."""
    return asdict(cfg)
