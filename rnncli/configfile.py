"""Reading config values: YAML files and `--set key.path=value` strings, their keys checked
against the dataclass schema of rnncli.config (with the closest key suggested), their values
checked against the fields' types, their paths resolved against whoever gave them.

Every problem is a ConfigError that names the source and the key path.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any

from rnncli.errors import ConfigError

_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

# Keys whose values are paths: resolved against the folder of whoever gave them.
PATH_KEYS = ("data.train", "data.valid", "output")


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # here, not at the top: `complete` and `eval` never read YAML

    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a config file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML{_yaml_where(e)}") from None
    except (ValueError, TypeError, AttributeError, RecursionError) as e:
        # PyYAML's constructors fail this way on a malformed tagged or implicit scalar:
        # `2020-13-45` (a date with month 13), `!!int zz`, `!!timestamp x`
        raise ConfigError(f"{path}: invalid YAML: a value that cannot be read ({e})") from None
    if raw is None:
        raise ConfigError(f"{path}: the file is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {_kind(raw)}")
    return raw


def _yaml_where(e: Exception) -> str:
    """` (line N): problem`, and where the construct that went wrong began, if elsewhere."""
    mark = getattr(e, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    text = f"{where}: {getattr(e, 'problem', None) or 'cannot parse'}"
    context, start = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context and start is not None and (mark is None or start.line != mark.line):
        text += f" ({context.removeprefix('while ')} that began on line {start.line + 1})"
    return text


def _parse_scalar(text: str) -> Any:
    """A `--set` value: YAML when it parses (`8`, `1e-4`, `[a.txt, b.txt]`, `null`), else the
    text itself."""
    import yaml

    if not text.strip():
        return None
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, AttributeError, RecursionError):
        return text


def _kind(value: Any) -> str:
    return "nothing (null)" if value is None else type(value).__name__


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _valid_keys(cls: type | None = None, prefix: str = "") -> list[str]:
    if cls is None:
        from rnncli.config import Config  # the schema's root; imported here: it imports us
        cls = Config
    keys = []
    for name, tp in _field_types(cls).items():
        key = prefix + name
        keys.append(key)
        if dataclasses.is_dataclass(tp):
            keys.extend(_valid_keys(tp, key + "."))
    return keys


def _check_key(key: str, source: str) -> None:
    valid = _valid_keys()
    if key in valid:
        return
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"{source}: unknown key {key!r}{hint}")


def _check_keys(raw: dict[Any, Any], source: str, prefix: str = "") -> None:
    """Refuse any key the schema does not have, at any depth of the mapping `raw` (whose own
    key path is `prefix`): `modle:`, `model: {hiden: 8}`, `"model.hidden": 8`."""
    from rnncli.config import Config  # imported here: config imports this module

    cls: Any = Config
    for name in filter(None, prefix.split(".")):
        cls = _field_types(cls)[name]
    fields = _field_types(cls) if dataclasses.is_dataclass(cls) else {}
    for name, value in raw.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if not isinstance(name, str) or name not in fields:
            _check_key(key, source)  # names the key and a close match
            raise ConfigError(f"{source}: unknown key {key!r}")  # `"model.hidden":` in a file
        if isinstance(value, dict) and dataclasses.is_dataclass(fields[name]):
            _check_keys(value, source, key)


def _leaf_paths(raw: dict[str, Any], prefix: str = "") -> list[str]:
    """Key paths of a nested mapping; a mapping under a section key is descended into."""
    paths = []
    for name, value in raw.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key in ("data", "model", "train"):
            paths.extend(_leaf_paths(value, key + "."))
        else:
            paths.append(key)
    return paths


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = raw
    for name in parents:
        child = node.get(name)
        if not isinstance(child, dict):
            child = {}
            node[name] = child
        node = child
    node[last] = value


def _get(raw: dict[str, Any], key: str) -> Any:
    node: Any = raw
    for name in key.split("."):
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return node


def _resolve_paths(raw: dict[str, Any], base: Path, only: dict[str, str]) -> None:
    for key in PATH_KEYS:
        if key not in only:
            continue
        source = only[key]
        value = _get(raw, key)
        if isinstance(value, str):
            _set(raw, key, _resolve(value, base, source, key))
        elif isinstance(value, list):
            _set(raw, key, [_resolve(v, base, source, key) if isinstance(v, str) else v
                            for v in value])


def _check_path(value: str, source: str, key: str) -> None:
    if "\0" in str(value):
        raise ConfigError(f"{source}: {key}: a path cannot contain a NUL character")


def _resolve(value: str, base: Path, source: str, key: str) -> str:
    _check_path(value, source, key)
    # os.path's expanduser leaves `~nosuchuser/x` as it is; pathlib's raises RuntimeError
    return str(base / os.path.expanduser(value))


def _build(cls: type, raw: Any, prefix: str, sources: dict[str, str], default_source: str) -> Any:
    if not isinstance(raw, dict):
        source = sources.get(prefix.rstrip("."), default_source)
        raise ConfigError(f"{source}: {prefix.rstrip('.')}: expected a mapping, "
                          f"got {_kind(raw)}")
    kwargs = {}
    for name, tp in _field_types(cls).items():
        if name not in raw:
            continue
        key = prefix + name
        value = raw[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, key + ".", sources, default_source)
        else:
            kwargs[name] = _coerce(value, tp, key, sources.get(key, default_source))
    return cls(**kwargs)


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check `value` against the annotation `tp`; return it in the field's canonical form."""
    args = typing.get_args(tp)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{source}: {key}: must not be empty")
    if optional:
        rest = [a for a in args if a is not type(None)]
        if len(rest) > 1:  # int | str: the first that fits
            for alternative in rest:
                try:
                    return _coerce(value, alternative, key, source)
                except ConfigError:
                    pass
            names = " or ".join(a.__name__ for a in rest)
            raise ConfigError(f"{source}: {key}: expected {names}, got {value!r}")
        (tp,) = rest
    origin = typing.get_origin(tp)
    if origin in (list,):
        items = value if isinstance(value, list) else [value]
        (item_tp,) = typing.get_args(tp)
        return [_coerce(v, item_tp, key, source) for v in items]
    if isinstance(tp, types.UnionType):  # pragma: no cover - not used by the schema
        raise TypeError(tp)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
            return float(value)  # YAML 1.1 reads 1e-4 (no dot) as text
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - schema error
        raise TypeError(tp)
    raise ConfigError(f"{source}: {key}: expected {tp.__name__}, got {value!r}")
