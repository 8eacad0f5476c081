"""Reading config values: YAML files and `--set key.path=value` strings, their keys checked
against a schema of dataclasses (with the closest key suggested), their values checked against
the fields' types, their paths resolved against whoever gave them.

Nothing here knows the schema: a `Schema` is given the root dataclass and reads the sections and
the path-valued fields off the dataclasses (rnncli.config.schema holds the schema itself).
Every problem is a ConfigError that names the source and the key path.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any

from rnncli.errors import ConfigError
from rnncli.text.corpora import PREFIX as CORPUS_PREFIX

_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

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
        raise ConfigError(f"{path}: expected a mapping of sections, got {kind(raw)}")
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


def kind(value: Any) -> str:
    return "nothing (null)" if value is None else type(value).__name__


class Schema:
    """A tree of dataclasses read as config keys: every field's key path (`model.hidden`), the
    sections (fields whose type is a dataclass, read from nested mappings) and the paths
    (fields whose metadata says `{"path": True}`, resolved against whoever gave them).

    Args:
        root: the dataclass at the top of the tree; every field needs a default.
    """

    def __init__(self, root: type):
        self.root = root
        self.types: dict[str, Any] = {}  # key path -> the field's annotation, depth first
        self.paths: list[str] = []  # key paths of the path-valued fields
        self._walk(root, "")

    def _walk(self, cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = prefix + f.name
            self.types[key] = hints[f.name]
            if f.metadata.get("path"):
                self.paths.append(key)
            if dataclasses.is_dataclass(hints[f.name]):
                self._walk(hints[f.name], key + ".")

    def is_section(self, key: str) -> bool:
        return dataclasses.is_dataclass(self.types.get(key))

    def check_key(self, key: str, source: str) -> None:
        """Refuse a key path the schema does not have, naming the closest one it has."""
        valid = list(self.types)
        if key in valid:
            return
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{source}: unknown key {key!r}{hint}")

    def check_keys(self, raw: dict[Any, Any], source: str, prefix: str = "") -> None:
        """Refuse any key the schema does not have, at any depth of the mapping `raw` (whose
        own key path is `prefix`): `modle:`, `model: {hiden: 8}`, `"model.hidden": 8`."""
        for name, value in raw.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            if not isinstance(name, str) or "." in name or key not in self.types:
                self.check_key(key, source)  # names the key and a close match
                raise ConfigError(f"{source}: unknown key {key!r}")  # `"model.hidden":`
            if isinstance(value, dict) and self.is_section(key):
                self.check_keys(value, source, key)

    def leaf_paths(self, raw: dict[str, Any], prefix: str = "") -> list[str]:
        """Key paths of a nested mapping; a mapping under a section key is descended into."""
        paths = []
        for name, value in raw.items():
            key = f"{prefix}{name}"
            if isinstance(value, dict) and self.is_section(key):
                paths.extend(self.leaf_paths(value, key + "."))
            else:
                paths.append(key)
        return paths

    def resolve_paths(self, raw: dict[str, Any], base: Path, only: dict[str, str]) -> None:
        """Make the path-valued keys named in `only` (key -> source) absolute, against `base`."""
        for key in self.paths:
            if key not in only:
                continue
            source = only[key]
            value = _get(raw, key)
            if isinstance(value, str):
                _set(raw, key, _resolve(value, base, source, key))
            elif isinstance(value, list):
                _set(raw, key, [_resolve(v, base, source, key) if isinstance(v, str) else v
                                for v in value])

    def read_file(self, path: Path) -> tuple[dict[str, Any], dict[str, str]]:
        """A YAML file's values, their keys checked and their paths resolved against the
        file's folder, and where each came from (key path -> the file)."""
        raw = _read_yaml(path)
        self.check_keys(raw, str(path))
        sources = {key: str(path) for key in self.leaf_paths(raw)}
        self.resolve_paths(raw, path.resolve().parent, only=sources)
        return raw, sources

    def read_values(self, values: dict[str, Any], source: str) -> tuple[dict[str, Any],
                                                                        dict[str, str]]:
        """`read_file` for values given as a dict (a copy is read): their keys checked, their
        paths resolved against the working directory, each key path's source `source`."""
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: expected a mapping of keys to values, got "
                              f"{kind(values)}")
        raw = copy.deepcopy(values)
        self.check_keys(raw, source)
        sources = {key: source for key in self.leaf_paths(raw)}
        self.resolve_paths(raw, Path.cwd(), only=sources)
        return raw, sources

    def override(self, raw: dict[str, Any], sources: dict[str, str], item: str,
                 source: str = "--set") -> None:
        """Apply one `key.path=value` (the value read as a YAML scalar) to `raw`; a path is
        resolved against the working directory."""
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{source} {item!r}: expected key.path=value")
        self.check_key(key, source)
        value = _parse_scalar(text)
        if isinstance(value, dict):  # `--set model={hidden: 8}`: its keys are checked too
            self.check_keys(value, source, key)
        _set(raw, key, value)
        sources[key] = source
        self.resolve_paths(raw, Path.cwd(), only={key: source})

    def build(self, raw: Any, sources: dict[str, str], default_source: str) -> Any:
        """An instance of the root dataclass from `raw`, every value checked against its
        field's type (`sources` and `default_source` name where a bad one came from)."""
        return _build(self.root, raw, "", sources, default_source)


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


def check_path(value: str, source: str, key: str) -> None:
    if "\0" in str(value):
        raise ConfigError(f"{source}: {key}: a path cannot contain a NUL character")


def _resolve(value: str, base: Path, source: str, key: str) -> str:
    check_path(value, source, key)
    if value.startswith(CORPUS_PREFIX):  # a fetched corpus's file, not a path
        return value
    # os.path's expanduser leaves `~nosuchuser/x` as it is; pathlib's raises RuntimeError
    return str(base / os.path.expanduser(value))


def _build(cls: type, raw: Any, prefix: str, sources: dict[str, str], default_source: str) -> Any:
    if not isinstance(raw, dict):
        source = sources.get(prefix.rstrip("."), default_source)
        raise ConfigError(f"{source}: {prefix.rstrip('.')}: expected a mapping, "
                          f"got {kind(raw)}")
    kwargs = {}
    for name, tp in typing.get_type_hints(cls).items():
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
