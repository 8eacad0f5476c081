"""Pre-tokenised corpora (Penn Treebank, WikiText) read as the field reads them: whitespace
tokens, one <eos> per line (blank ones too), the corpus's <unk> as the unknown word."""

from collections import Counter

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.errors import ConfigError, DataError
from rnncli.text.corpus import encode_lines, iter_lines, read_lines
from rnncli.text.tokenize import EOS, UNK, detokenize, tokenize_lines, tokenizer
from rnncli.train.loop import prepare

# two articles in WikiText's layout: a heading, blank lines, @-@ splits, <unk>
FIXTURE = (" = Heading = \n"
           " \n"
           " The <unk> of 1 @,@ 000 , a well @-@ known <unk> . \n"
           "\n"
           " It was known . \n")


def test_whitespace_tokens_are_line_split_with_eos_after_every_line():
    lines = FIXTURE.split("\n")[:-1]  # five lines, two of them blank
    tokens = list(tokenize_lines(lines, "whitespace"))
    expected = []
    for line in lines:
        expected += line.split() + [EOS]
    assert tokens == expected
    assert tokens.count(EOS) == 5  # blank lines count as lines
    assert "@-@" in tokens and "@,@" in tokens and tokens.count(UNK) == 2


def test_blank_lines_kept_only_for_whitespace(tmp_path):
    path = tmp_path / "wiki.tokens"
    path.write_text(FIXTURE)
    assert len(read_lines(path, keep_blank=True)) == 5
    assert len(read_lines(path)) == 3


def test_literal_unk_is_the_unknown_word_in_every_mode():
    assert tokenizer("word")("a <unk> b") == ["a", UNK, "b"]  # not <, unk, >
    assert tokenizer("char")("a<unk>b") == ["a", UNK, "b"]
    assert tokenizer("whitespace")("a <unk> b") == ["a", UNK, "b"]


def test_unk_has_the_id_of_words_outside_the_vocabulary(tmp_path):
    (tmp_path / "train.txt").write_text(FIXTURE)
    (tmp_path / "c.yaml").write_text(
        "data:\n  train: train.txt\n  valid_fraction: 0\n  tokenizer: whitespace\n"
        "train:\n  batch_size: 1\n  bptt: 2\n")
    corpus = prepare(load_config(tmp_path / "c.yaml"))
    vocab = corpus.vocab
    assert UNK in vocab.itos and "<" not in vocab.itos and "unk" not in vocab.itos
    ids = encode_lines(["<unk> zebra known"], vocab, "whitespace", False)
    assert ids[0] == ids[1] == vocab.unk and ids[2] == vocab.stoi["known"]
    n_tokens = sum(len(line.split()) + 1 for line in FIXTURE.split("\n")[:-1])
    assert len(corpus.train_ids) == n_tokens == 25  # 4 + 1 + 14 + 1 + 5


def test_another_unk_spelling(tmp_path):
    split = tokenizer("whitespace", "<UNK>")
    assert split("a <UNK> b") == ["a", UNK, "b"]
    assert split("a <UNK>s b") == ["a", "<UNK>s", "b"]  # only a whole token
    assert tokenizer("word", "_unk_")("a _unk_ b") == ["a", UNK, "b"]
    with pytest.raises(DataError, match="'<unk>' as a word.*spelled '<UNK>'"):
        split("a <unk> b")  # rnncli's own <unk> would swallow this real word


@pytest.mark.parametrize("value", ["", "a b", "<eos>"])
def test_unk_token_must_be_one_token(tmp_path, value):
    with pytest.raises(ConfigError, match="data.unk_token"):
        load_config(None, [f"data.unk_token='{value}'"])


def test_whitespace_completions_are_joined_with_single_spaces():
    assert detokenize(["a", "@-@", "b", ",", EOS, "c"], "whitespace") == "a @-@ b ,\nc"


def test_wikitext2_counts_match_the_published_ones(real_corpus):
    wikitext = real_corpus("wikitext-2")  # skipped without RNNCLI_CORPUS_MIRROR
    counts = Counter(tokenize_lines(iter_lines(wikitext["train"], True), "whitespace"))
    vocab = set(counts) | {UNK, EOS}
    assert len(vocab) == 33_278  # every published WikiText-2 perplexity's vocabulary
    test = list(tokenize_lines(iter_lines(wikitext["test"], True), "whitespace"))
    assert len(test) == 245_569
    assert np.mean([t in vocab for t in test]) == 1.0  # the test set's rare words are <unk>


def test_a_clashing_unk_spelling_is_one_error_line(tmp_path):
    from clirun import assert_error, run

    (tmp_path / "c.txt").write_text("a <UNK> b c d e f g\nthe <unk> of it all now\n" * 4)
    (tmp_path / "c.yaml").write_text(
        "data: {train: c.txt, valid_fraction: 0, tokenizer: whitespace, unk_token: <UNK>}\n"
        "model: {embedding: 4, hidden: 4}\ntrain: {epochs: 1, batch_size: 2, bptt: 4}\n")
    result = run("train", tmp_path / "c.yaml", "--out", tmp_path / "m")
    assert_error(result, "'<unk>' as a word")
    assert not (tmp_path / "m").exists()
