import numpy as np
import pytest

from rnncli.errors import DataError
from rnncli.text.corpus import batchify, eval_streams, read_lines, split_valid, windows

EOS = 1


def test_batchify_lays_contiguous_streams_side_by_side():
    data = batchify(np.arange(11), 3)  # 11 tokens, 3 streams of 3, the tail dropped
    assert data.shape == (3, 3)
    np.testing.assert_array_equal(data[:, 0], [0, 1, 2])
    np.testing.assert_array_equal(data[:, 2], [6, 7, 8])


def test_windows_cover_every_target_once_and_know_the_previous_token():
    data = batchify(np.arange(2, 22), 2)  # (10, 2)
    wins = list(windows(data, 4, EOS))
    assert [w.inputs.shape[0] for w in wins] == [4, 4, 1]
    targets = np.concatenate([w.targets for w in wins])
    np.testing.assert_array_equal(targets, data[1:])
    for w in wins:
        np.testing.assert_array_equal(w.targets[:-1], w.inputs[1:])
        np.testing.assert_array_equal(w.prev[1:], w.inputs[:-1])
    np.testing.assert_array_equal(wins[0].prev[0], [EOS, EOS])  # the stream starts fresh
    np.testing.assert_array_equal(wins[1].prev[0], wins[0].inputs[-1])


def test_eval_streams_score_every_token_once_starting_at_line_ends():
    ids = np.array([5, 6, EOS, 7, EOS, 8, 9, 9, EOS, 4, EOS], dtype=np.int32)
    data, weight = eval_streams(ids, EOS, n_streams=3)
    assert weight.sum() == len(ids)
    scored = np.sort(data[1:][weight > 0])
    np.testing.assert_array_equal(scored, np.sort(ids))
    np.testing.assert_array_equal(data[0], EOS)  # each stream opens with an <eos>
    for s in range(data.shape[1]):  # and holds whole lines
        n = int(weight[:, s].sum())
        assert data[n, s] == EOS


def test_split_valid_is_seeded_and_keeps_order():
    lines = [f"line {i}" for i in range(20)]
    train, valid = split_valid(lines, 0.25, seed=3)
    assert len(valid) == 5 and len(train) == 15
    assert sorted(train + valid, key=lines.index) == lines
    assert train == sorted(train, key=lines.index)
    assert split_valid(lines, 0.25, seed=3) == (train, valid)
    assert split_valid(lines, 0.0, seed=3) == (lines, [])


def test_read_lines_errors(tmp_path):
    with pytest.raises(DataError, match="no such corpus file"):
        read_lines(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(DataError, match="empty"):
        read_lines(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"fine\nstill fine\n\xff\xfe oops\n")
    with pytest.raises(DataError, match="line 3: not UTF-8 text"):
        read_lines(tmp_path / "bin.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_lines(tmp_path)
