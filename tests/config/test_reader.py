"""rnncli.config.reader on a small schema of its own: the reader knows no schema but the
dataclasses it is given."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rnncli.config.reader import Schema
from rnncli.errors import ConfigError


@dataclass
class Inner:
    size: int = 4
    rate: float = 0.5
    name: str | None = None
    every: int | str | None = None
    files: list[str] = field(default_factory=list, metadata={"path": True})


@dataclass
class Root:
    inner: Inner = field(default_factory=Inner)
    flag: bool = False
    out: str = field(default="out", metadata={"path": True})


SCHEMA = Schema(Root)


def build(raw, sources=None):
    return SCHEMA.build(raw, sources or {}, "defaults")


def test_the_schema_reads_keys_sections_and_paths_off_the_dataclasses():
    assert list(SCHEMA.types) == ["inner", "inner.size", "inner.rate", "inner.name",
                                  "inner.every", "inner.files", "flag", "out"]
    assert SCHEMA.is_section("inner") and not SCHEMA.is_section("inner.size")
    assert SCHEMA.paths == ["inner.files", "out"]


def test_values_are_checked_against_the_field_types():
    got = build({"inner": {"size": 8, "rate": 1, "every": "10m", "files": "a.txt"},
                 "flag": True})
    assert got == Root(Inner(size=8, rate=1.0, every="10m", files=["a.txt"]), flag=True)
    assert isinstance(got.inner.rate, float)
    assert build({"inner": {"rate": "1e-4", "every": 5}}).inner == Inner(rate=1e-4, every=5)
    assert build({}) == Root()


@pytest.mark.parametrize("raw, message", [
    ({"inner": {"size": 2.5}}, "f.yaml: inner.size: expected int, got 2.5"),
    ({"inner": {"size": True}}, "inner.size: expected int, got True"),  # a bool is no int
    ({"inner": {"rate": "fast"}}, "inner.rate: expected float, got 'fast'"),
    ({"inner": {"size": None}}, "inner.size: must not be empty"),
    ({"inner": {"every": 1.5}}, "inner.every: expected int or str, got 1.5"),
    ({"inner": 3}, "inner: expected a mapping, got int"),
    ({"flag": "yes"}, "flag: expected bool, got 'yes'"),
])
def test_a_wrong_type_names_the_source_and_the_key(raw, message):
    sources = {key: "f.yaml" for key in SCHEMA.leaf_paths(raw)}
    with pytest.raises(ConfigError, match="^f.yaml: " + message.removeprefix("f.yaml: ")):
        build(raw, sources)


@pytest.mark.parametrize("raw, message", [
    ({"inner": {"sise": 3}}, "unknown key 'inner.sise' (did you mean 'inner.size'?)"),
    ({"innr": {}}, "unknown key 'innr' (did you mean 'inner'?)"),
    ({"inner.size": 3}, "unknown key 'inner.size'"),  # a dotted key is not a path in a file
    ({"zzz": 1}, "unknown key 'zzz'"),
])
def test_unknown_keys_are_refused_with_the_closest_one(raw, message):
    with pytest.raises(ConfigError) as e:
        SCHEMA.check_keys(raw, "f.yaml")
    assert str(e.value) == f"f.yaml: {message}"


def test_set_overrides_parse_yaml_scalars_and_resolve_paths_against_the_working_directory(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw, sources = {"inner": {"size": 1}}, {"inner.size": "f.yaml"}
    for item in ("inner.size=8", "inner.rate=0.25", "inner.name=", "out=runs/x",
                 "inner.files=[a.txt, b.txt]", "flag=true"):
        SCHEMA.override(raw, sources, item)
    assert raw == {"inner": {"size": 8, "rate": 0.25, "name": None,
                             "files": [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]},
                   "out": str(tmp_path / "runs/x"), "flag": True}
    assert set(sources.values()) == {"--set"}
    with pytest.raises(ConfigError, match=r"^--set 'inner.size': expected key.path=value$"):
        SCHEMA.override(raw, sources, "inner.size")
    with pytest.raises(ConfigError, match="did you mean 'inner.rate'"):
        SCHEMA.override(raw, sources, "inner.rat=3")
    with pytest.raises(ConfigError, match="unknown key 'inner.sise'"):
        SCHEMA.override(raw, sources, "inner={sise: 3}")


def test_a_file_s_paths_resolve_against_its_folder_and_its_keys_are_its_own(tmp_path):
    sub = tmp_path / "configs"
    sub.mkdir()
    path = sub / "c.yaml"
    path.write_text("inner:\n  files: [../a.txt, b.txt]\n  size: 3\nout: o\n")
    raw, sources = SCHEMA.read_file(path)
    assert raw == {"inner": {"files": [str(sub / "../a.txt"), str(sub / "b.txt")], "size": 3},
                   "out": str(sub / "o")}
    assert sources == {"inner.files": str(path), "inner.size": str(path), "out": str(path)}
    path.write_text("inner:\n  size: [1\n")
    with pytest.raises(ConfigError, match=f"^{path}"):
        SCHEMA.read_file(path)
    with pytest.raises(ConfigError, match="no such config file"):
        SCHEMA.read_file(sub / "none.yaml")
