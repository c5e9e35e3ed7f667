"""Static recipe checks: axolotl's own schema plus the unknown-key check axolotl leaves out.

axolotl's `validate_config` rejects bad types but silently drops unknown keys, so a typo such as
`lora_rr: 16` trains with the default rank. `recipe_problems` walks the recipe against the pydantic
models' field names and aliases (nested models and dataset entries included) and then runs
`validate_config`, turning every error into one line: file, key, problem, fix.
"""

from __future__ import annotations

import copy
import logging
import os
import types
import typing
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from schemas.config import ConfigError, load_yaml, unknown_keys


def prepare_axolotl_import() -> None:
    """Checks never touch the network, and torchao's import-time noise (no CUDA libraries) is hidden."""
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "AXOLOTL_DO_NOT_TRACK"):
        os.environ.setdefault(key, "1")
    for name in ("torchao", "torch.utils._pytree", "axolotl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_recipe(path: str | Path) -> dict[str, Any]:
    """Strict YAML load: a missing file, bad syntax or a non-mapping top level is a ConfigError."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a recipe is a mapping of axolotl keys, got {type(data).__name__}"])
    return data


def _field_names(model: type) -> list[str]:
    names: list[str] = []
    for name, field in model.model_fields.items():
        names.append(name)
        if field.alias:
            names.append(field.alias)
        alias = field.validation_alias
        if isinstance(alias, str):
            names.append(alias)
        elif alias is not None and hasattr(alias, "choices"):
            names.extend(c for c in alias.choices if isinstance(c, str))
    return names


def _models_in(annotation: Any) -> list[type]:
    """pydantic model classes reachable in a type annotation (Optional, list[...], unions)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (list, tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found.extend(m for m in _models_in(arg) if m not in found)
    return found


def _nested_unknown(data: Mapping[str, Any], model: type, path: str, prefix: str,
                    cfg: Mapping[str, Any]) -> list[str]:
    """Unknown keys in `data` against `model`, recursing into nested models and lists of them."""
    if model.model_config.get("extra") == "allow":
        return []
    problems = unknown_keys(data, _field_names(model), f"{path}: {prefix}" if prefix else path)
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None or value is None:
            continue
        models = _models_in(field.annotation)
        if not models:
            continue
        if len(models) > 1:
            models = _pick_dataset_model(models, cfg)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            sub = f"{prefix}{'.' if prefix else ''}{key}" + (f"[{i}]" if isinstance(value, list) else "")
            if len(models) == 1:
                problems += _nested_unknown(item, models[0], path, sub, cfg)
            else:
                problems += unknown_keys(item, [n for m in models for n in _field_names(m)], f"{path}: {sub}")
    return problems


def _pick_dataset_model(models: list[type], cfg: Mapping[str, Any]) -> list[type]:
    """Dataset entries are a union of SFT/DPO/KTO/...; without `rl` axolotl reads them as SFTDataset."""
    if cfg.get("rl"):
        return models
    sft = [m for m in models if m.__name__ == "SFTDataset"]
    return sft or models


def _format_loc(loc: tuple[Any, ...], model: type) -> tuple[str, list[Any]]:
    """pydantic locations carry union-member tags ('SFTDataset', 'str', 'function-after[...]'); keep
    the keys and indices that name a real place in the recipe. Returns printable key and raw path."""
    def is_tag(p: str) -> bool:
        return p[:1].isupper() or "[" in p or "-" in p or p in _TYPE_TAGS

    keep: list[Any] = []
    for p in loc:
        if isinstance(p, int) or (keep and not is_tag(str(p))) or (not keep and p in _field_names(model)):
            keep.append(p)
    text = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(keep))
    return text or "(top level)", keep


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "literal", "none"}


def _drop(data: Any, path: list[Any]) -> bool:
    """Remove the value at `path` from a nested dict/list so validation can go on past it."""
    for p in path[:-1]:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(data, dict) and path and path[-1] in data:
        del data[path[-1]]
        return True
    return False


def _error_lines(exc: Exception, where: str, prefix: str, model: type) -> tuple[list[str], list[list[Any]]]:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [f"{where}: {prefix or '(top level)'}: {text}"], []
    lines, paths = [], []
    for err in exc.errors():
        key, path = _format_loc(tuple(err["loc"]), model)
        if prefix:
            key = prefix if key == "(top level)" else f"{prefix}.{key}"
        msg = err["msg"].removeprefix("Value error, ").replace("\n", " ")
        got = err.get("input")
        shown = f" (got {got!r})" if err.get("type") != "missing" and not isinstance(got, dict) else ""
        lines.append(f"{where}: {key}: {msg}{shown}")
        paths.append(path)
    return lines, paths


@contextmanager
def _quiet_logging():
    """axolotl's validators log warnings (VRAM hints, deprecations) straight to stderr."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def schema_problems(cfg: dict[str, Any], where: str) -> list[str]:
    """axolotl's pydantic validation, every error as one `where: key: problem` line.

    pydantic stops at the first failing model validator, and `validate_config` builds dataset
    entries before the top-level model, so a bad value is removed and validation re-run until clean.
    """
    prepare_axolotl_import()
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault
    from axolotl.utils.schemas.config import AxolotlInputConfig
    from axolotl.utils.schemas.datasets import SFTDataset

    work = copy.deepcopy(cfg)
    problems: list[str] = []
    if not work.get("rl"):
        for key in ("datasets", "test_datasets"):
            entries = work.get(key) if isinstance(work.get(key), list) else []
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                for _ in range(len(entry) + 1):
                    try:
                        SFTDataset(**entry)
                        break
                    except (ValueError, TypeError) as exc:
                        lines, paths = _error_lines(exc, where, f"{key}[{i}]", SFTDataset)
                        problems += lines
                        if not any([_drop(entry, p) for p in paths]):
                            entries[i] = {"path": entry.get("path") or "x", "type": "chat_template"}
                            break
    dropped: list[list[Any]] = []
    with _quiet_logging():
        for _ in range(20):
            try:
                validate_config(DictDefault(copy.deepcopy(work)))
                break
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                lines, paths = _error_lines(exc, where, "", AxolotlInputConfig)
                # A value removed in an earlier round may now be "required": already reported.
                fresh = [(line, p) for line, p in zip(lines, paths, strict=True) if p not in dropped]
                problems += [line for line, _ in fresh]
                removed = [p for _, p in fresh if p and _drop(work, p)]
                dropped += removed
                if not removed:
                    break
    return list(dict.fromkeys(problems))


def recipe_problems(cfg: dict[str, Any], where: str) -> list[str]:
    """Every static problem in a loaded recipe: unknown keys first, then axolotl's schema."""
    prepare_axolotl_import()
    from axolotl.utils.schemas.config import AxolotlInputConfig

    problems = _nested_unknown(cfg, AxolotlInputConfig, where, "", cfg)
    return problems + schema_problems(cfg, where)
