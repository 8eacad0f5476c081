"""Compressed corpora (.gz, .bz2, .xz) read as a stream wherever a corpus path goes; a damaged
one is one `Error:` line."""

import bz2
import gzip
import lzma

import pytest
from clirun import TINY, assert_error, run

from rnncli.errors import DataError
from rnncli.text.corpus import read_lines

TEXT = "the cat sat on the mat .\n\nthe dog sat on the log .\n" * 8
PACK = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


@pytest.mark.parametrize("suffix", sorted(PACK))
def test_compressed_reads_as_the_plain_text(tmp_path, suffix):
    plain = tmp_path / "c.txt"
    plain.write_text(TEXT)
    packed = tmp_path / f"c.txt{suffix}"
    packed.write_bytes(PACK[suffix](TEXT.encode()))
    assert read_lines(packed) == read_lines(plain)
    assert read_lines(packed, keep_blank=True) == read_lines(plain, keep_blank=True)


@pytest.mark.parametrize("suffix", sorted(PACK))
def test_corrupt_or_truncated_is_a_data_error(tmp_path, suffix):
    data = PACK[suffix](TEXT.encode())
    bad = tmp_path / f"cut{suffix}"
    bad.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_lines(bad)
    junk = tmp_path / f"junk{suffix}"
    junk.write_bytes(b"not compressed at all\n" * 4)
    with pytest.raises(DataError, match=f"{junk}: not a readable"):
        read_lines(junk)


def test_train_and_eval_take_compressed_corpora(tmp_path):
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(TEXT.encode()))
    (tmp_path / "c.yaml").write_text(TINY.format(corpus="c.txt.gz"))
    result = run("train", tmp_path / "c.yaml", "--out", tmp_path / "m")
    assert result.exit_code == 0, result.stderr
    (tmp_path / "v.txt.xz").write_bytes(lzma.compress(TEXT.encode()))
    result = run("eval", tmp_path / "v.txt.xz", "-m", tmp_path / "m", "--json")
    assert result.exit_code == 0, result.stderr
    assert '"tokens": 128,' in result.stdout  # 16 lines of 7 tokens and <eos>


def test_corrupt_corpus_is_one_error_line(tmp_path):
    (tmp_path / "c.txt.bz2").write_bytes(b"BZh9" + b"\x00" * 64)
    (tmp_path / "c.yaml").write_text(TINY.format(corpus="c.txt.bz2"))
    result = run("train", tmp_path / "c.yaml", "--out", tmp_path / "m")
    assert_error(result, "not a readable bzip2 file (corrupt or truncated)")
    assert not (tmp_path / "m").exists()
