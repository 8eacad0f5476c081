import numpy as np

from rnncli.config.schema import load_config
from rnncli.infer.decode import Decoding
from rnncli.infer.evaluate import evaluate
from rnncli.infer.predict import complete
from rnncli.store import model_folder
from rnncli.store.metrics import perplexity
from rnncli.train.loop import prepare, train


def test_training_lowers_the_loss(tiny_config):
    saved = train(load_config(tiny_config, ["train.epochs=8"]))
    losses = [r["train_loss"] for r in saved.history]
    assert losses[0] < np.log(len(saved.vocab)) + 0.1  # starts near a uniform guess
    assert losses[-1] < losses[0] - 0.5
    assert len(saved.history) == 8
    # nothing held out: the training perplexity
    assert set(saved.history[0]) >= {"epoch", "train_loss", "train_ppl", "lr", "seconds"}


def test_a_tiny_corpus_is_learned_by_heart(tiny_config):
    cfg = load_config(tiny_config, ["train.epochs=60", "train.lr=1.0"])
    saved = train(cfg)
    corpus = prepare(cfg)
    scores = evaluate(saved.model, corpus.train_ids, saved.vocab.eos, saved.vocab.unk, True)
    assert scores.perplexity < 1.5
    got = [c.completion for c in complete(saved, [
        "the cat sat on the", "the dog sat on the", "a bird sang in the", "the cat saw the"])]
    assert got == ["mat", "log", "tree", "bird"]  # the noun depends on words three steps back


def test_same_config_and_seed_give_the_same_weights_bit_for_bit(tiny_config):
    a = train(load_config(tiny_config, ["train.epochs=2"]))
    b = train(load_config(tiny_config, ["train.epochs=2"]))
    c = train(load_config(tiny_config, ["train.epochs=2", "train.seed=1"]))
    for name, W in a.model.params.items():
        assert W.dtype == np.float32
        np.testing.assert_array_equal(W, b.model.params[name])
    assert not np.array_equal(a.model.params["W_hh"], c.model.params["W_hh"])


def test_lr_decays_when_validation_stops_improving(tiny_config):
    saved = train(load_config(tiny_config, ["train.epochs=12", "train.lr=8",
                                            "train.lr_decay=0.25"]))
    lrs = [r["lr"] for r in saved.history]
    assert min(lrs) < 8, "the test needs at least one epoch that did not improve"
    ppls = [perplexity(r) for r in saved.history]
    for i in range(1, len(lrs)):
        worse = ppls[i - 1] >= min(ppls[:i - 1] or [float("inf")])
        assert lrs[i] == (lrs[i - 1] * 0.25 if worse else lrs[i - 1])


def test_char_tokenizer_trains_and_completes_characters(make_model):
    saved = model_folder.load(make_model(["abcabcabc"] * 40, **{
        "data.tokenizer": "char", "model.embedding": 8, "model.hidden": 16,
        "train.epochs": 30, "train.bptt": 10, "train.lr": 1.0}))
    assert set(saved.vocab.itos) == {"<unk>", "<eos>", "a", "b", "c"}
    (c,) = complete(saved, ["abca"], Decoding(words=4))
    assert c.completion == "bcab"  # characters joined without spaces


def test_streaming_prepare_equals_the_plain_recipe(tmp_path):
    """prepare() never holds the text as lines or tokens; it must still give exactly what the
    obvious recipe gives: all lines, held-out lines by seed, tokens, vocabulary, ids."""
    from rnncli.text.corpus import encode_lines, split_valid
    from rnncli.text.tokenize import tokenize_lines
    from rnncli.text.vocab import Vocab

    text = ("the cat sat .\r\n\nthe dog ran\rand ran\u2028again !\n" * 7
            + "a bird, a tree; don't stop\n" * 5)
    (tmp_path / "a.txt").write_text(text, newline="")
    (tmp_path / "b.txt").write_text("more words here\nthe cat again\n")
    (tmp_path / "c.yaml").write_text(
        "data: {train: [a.txt, b.txt], valid_fraction: 0.3, min_count: 2}\n"
        "train: {batch_size: 2, bptt: 3, seed: 4}\n")
    cfg = load_config(tmp_path / "c.yaml")
    corpus = prepare(cfg)

    lines = [x for f in ("a.txt", "b.txt")
             for x in (tmp_path / f).read_bytes().decode().splitlines() if x.strip()]
    train_lines, valid_lines = split_valid(lines, 0.3, seed=4)
    tokens = list(tokenize_lines(train_lines))
    vocab = Vocab.build(tokens, min_count=2)
    assert corpus.vocab.itos == vocab.itos
    np.testing.assert_array_equal(corpus.train_ids, vocab.encode(tokens))
    np.testing.assert_array_equal(corpus.valid_ids, encode_lines(valid_lines, vocab, "word",
                                                                 False))
    assert corpus.train_ids.dtype == np.int32 and len(valid_lines) > 0


def test_a_token_budget_stops_mid_epoch_and_validates(tiny_config):
    """train.max_tokens: training stops after the window that spends the budget (here in the
    second epoch), validates, and keeps what it has, however many epochs were asked for."""
    from rnncli.train.loop import Silent

    class Count(Silent):
        tokens = 0

        def step(self, epoch, window, loss, tokens):
            self.tokens += tokens

    counter = Count()
    cfg = load_config(tiny_config, ["train.epochs=5", "train.max_tokens=250"])
    B, T = cfg.train.batch_size, cfg.train.bptt
    per_epoch = (len(prepare(cfg).train_ids) // B - 1) * B  # targets in one pass
    assert per_epoch < 250 < 2 * per_epoch
    saved = train(cfg, counter)
    assert counter.tokens == per_epoch + B * T * -(-(250 - per_epoch) // (B * T))
    assert [r["epoch"] for r in saved.history] == [1, 2]
