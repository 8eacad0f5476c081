"""The config reference, generated from the schema itself: every key of rnncli.config.schema's
dataclasses with its type, its default and the comment written beside it in the source, so that
the documentation (docs/config.md, through the MkDocs hook docs/hooks/config_reference.py) is
never written a second time by hand.

A field's comment is the one on its own line(s) of source, with any comment lines that follow
it; comment lines just above a field that has none of its own are that field's. Nothing here is
imported by `rnncli` itself.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import tokenize
import types
import typing
from pathlib import Path

from rnncli.config import schema


@dataclasses.dataclass
class Key:
    path: str  # data.train
    type: str  # list[str]
    default: str  # the default as YAML would write it
    doc: str  # the source's comment, without the #


def _comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment on that line."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT}


def _field_docs(cls: type) -> dict[str, str]:
    """Each field of a dataclass -> its comment in the source ('' where it has none)."""
    lines, first = inspect.getsourcelines(cls)
    source = "".join(lines)
    comments = _comments(source)
    body = ast.parse(source).body[0].body
    fields = [n for n in body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
    docs: dict[str, list[str]] = {node.target.id: [] for node in fields}
    starts = [_first_line(body)] + [node.end_lineno + 1 for node in fields]  # after the previous
    for node in fields:
        docs[node.target.id] += [comments[n] for n in range(node.lineno, node.end_lineno + 1)
                                 if n in comments]
    for i, node in enumerate(fields):
        above = [comments[n] for n in range(starts[i], node.lineno) if n in comments]
        if not above:
            continue
        if i > 0 and docs[node.target.id]:  # the field has its own: these go on from the last
            docs[fields[i - 1].target.id] += above
        else:
            docs[node.target.id] = above + docs[node.target.id]
    if fields:  # comment lines after the last field, before anything else, go on from it
        last = fields[-1]
        after = [n.lineno for n in body if n.lineno > last.end_lineno]
        end = min(after, default=len(lines) + 1)
        docs[last.target.id] += [comments[n] for n in range(last.end_lineno + 1, end)
                                 if n in comments]
    return {name: " ".join(text) for name, text in docs.items()}


def _first_line(body: list[ast.stmt]) -> int:
    """The line after the class statement's own line: where its first field's comments begin."""
    return body[0].lineno if not isinstance(body[0], ast.AnnAssign) else 2


def _type_name(annotation) -> str:
    if isinstance(annotation, str):
        return annotation.replace("None", "null")
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if typing.get_origin(annotation) is list:
        return "list[" + ", ".join(_type_name(a) for a in typing.get_args(annotation)) + "]"
    return getattr(annotation, "__name__", str(annotation))


def _yaml(value, is_path: bool) -> str:
    if is_path and isinstance(value, list):
        return "[" + ", ".join(_yaml(v, True) for v in value) + "]"
    if is_path and isinstance(value, str) and Path(value).is_absolute():
        path = Path(value)
        package = Path(schema.__file__).resolve().parents[1]
        if path.is_relative_to(package):
            return f"{package.name}/{path.relative_to(package).as_posix()}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v, False) for v in value) + "]"
    return str(value)


def keys(root: type = schema.Config, prefix: str = "") -> list[Key]:
    """Every key of the config, in the order of the source, sections first by their own order."""
    out: list[Key] = []
    docs = _field_docs(root)
    hints = typing.get_type_hints(root)
    for f in dataclasses.fields(root):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out.extend(keys(hint, prefix + f.name + "."))
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        else:
            default = f.default_factory()
        shown = _yaml(default, bool(f.metadata.get("path")))
        out.append(Key(prefix + f.name, _type_name(hint), shown, docs.get(f.name, "")))
    return out


def _text(text: str) -> str:
    """Plain text for a Markdown table cell: what Markdown or HTML would read as markup (`<unk>`,
    `x_t`, `lr *= ...`, a `|`) escaped, code spans in backticks left as they are."""
    pieces = text.split("`")
    for i in range(0, len(pieces), 2):  # outside the code spans
        piece = pieces[i].replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
        pieces[i] = (piece.replace(">", "&gt;").replace("*", "\\*").replace("_", "\\_")
                     .replace("|", "\\|"))
    return "`".join(pieces)


def markdown() -> str:
    """The reference as Markdown: one table per section."""
    sections: dict[str, list[Key]] = {}
    for key in keys():
        sections.setdefault(key.path.split(".")[0] if "." in key.path else "", []).append(key)
    parts = []
    for section, items in sections.items():
        parts.append(f"### `{section}`\n" if section else "### Top level\n")
        parts.append("| key | type | default | what |\n|---|---|---|---|")
        for key in items:
            default = key.default.replace("|", "\\|")
            parts.append(f"| `{key.path}` | {_text(key.type)} | `{default}` | {_text(key.doc)} |")
        parts.append("")
    return "\n".join(parts)
