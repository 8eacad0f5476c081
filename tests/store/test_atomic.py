"""rnncli.store.atomic: a file or folder is whole or absent, whatever fails on the way."""

import os

import pytest

from rnncli.store import atomic


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_file_is_written_whole_into_a_new_folder_and_replaces_an_old_one(tmp_path):
    path = tmp_path / "a" / "b" / "f.json"
    assert atomic.write_file(path, b"first") == path
    assert path.read_bytes() == b"first"
    atomic.write_file(path, b"second, longer")
    assert path.read_bytes() == b"second, longer"
    assert leftovers(path.parent) == []


def test_short_writes_are_carried_on(tmp_path, monkeypatch):
    write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: write(fd, bytes(data[:3])))
    atomic.write_file(tmp_path / "f", b"0123456789")
    atomic.write_folder(tmp_path / "d", {"x": b"abcdefgh"})
    assert (tmp_path / "f").read_bytes() == b"0123456789"
    assert (tmp_path / "d" / "x").read_bytes() == b"abcdefgh"


def failing_write(after: int):
    """os.write that raises ENOSPC once `after` bytes have gone out (a disk filling up)."""
    write, done = os.write, [0]

    def fake(fd, data):
        if done[0] + len(data) > after:
            raise OSError(28, "No space left on device")
        done[0] += len(data)
        return write(fd, data)

    return fake


def test_a_failed_file_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "write", failing_write(0))
    with pytest.raises(OSError, match="No space left"):
        atomic.write_file(path, b"new")
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_folder_is_written_whole_and_replaces_an_old_one(tmp_path):
    path = tmp_path / "model"
    assert atomic.write_folder(path, {"a": b"1", "b": b"22"}) == path.resolve()
    atomic.write_folder(path, {"c": b"333"})
    assert sorted(p.name for p in path.iterdir()) == ["c"]  # the old folder's files are gone
    assert (path / "c").read_bytes() == b"333"
    assert leftovers(tmp_path) == []


def test_a_failed_folder_write_leaves_the_old_folder_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model"
    atomic.write_folder(path, {"a": b"old"})
    monkeypatch.setattr(os, "write", failing_write(4))  # the first file fits, the second not
    with pytest.raises(OSError, match="No space left"):
        atomic.write_folder(path, {"a": b"new!", "b": b"more"})
    assert sorted(p.name for p in path.iterdir()) == ["a"]
    assert (path / "a").read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_folder_where_a_file_is_fails_as_an_os_error(tmp_path):
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(OSError):
        atomic.write_folder(tmp_path / "a-file" / "model", {"a": b"x"})
    assert (tmp_path / "a-file").read_bytes() == b""


def test_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    path = tmp_path / "model"
    atomic.write_folder(path, {"a": b"old"})
    rename = type(path).rename

    def fake(self, target):
        if self.name.endswith(".tmp"):  # the finished new folder moving into place
            raise OSError(18, "Invalid cross-device link")
        return rename(self, target)

    monkeypatch.setattr(type(path), "rename", fake)
    with pytest.raises(OSError, match="cross-device"):
        atomic.write_folder(path, {"a": b"new"})
    assert (path / "a").read_bytes() == b"old"
    assert leftovers(tmp_path) == []
