"""The n-gram baseline from the command line: kn build, kn arpa, eval --baseline, and the one
`Error:` line for each bad input."""

import json
import math

import numpy as np
import pytest
from clirun import assert_error, run
from conftest import TINY_TEXT

from rnncli.infer.evaluate import evaluate
from rnncli.ngram import folder
from rnncli.ngram.baseline import compare
from rnncli.ngram.corpus import model_texts
from rnncli.ngram.kn import score
from rnncli.store import model_folder

CORPUS = "corpus.txt"  # the tiny corpus, as conftest.make_model writes it beside the model


@pytest.fixture(scope="module")
def held(make_model):
    """A small model trained with a quarter of its lines held out, and its kn3 folder."""
    model = make_model(**{"data.valid_fraction": 0.25, "model.embedding": 8,
                          "model.hidden": 16, "train.batch_size": 2})
    base = model.parent
    result = run("kn", "build", "--model", model, "--order", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(base / "model.kn3")
    return model, base


def test_build_keeps_a_folder_that_scores_the_models_own_training_text(held):
    model, base = held
    saved = model_folder.load(model)
    kn, vocab, meta = folder.load(base / "model.kn3")
    assert vocab.itos == saved.vocab.itos and meta["order"] == kn.order == 3
    train_ids, valid_ids = model_texts(saved)
    assert len(train_ids) + len(valid_ids) == TINY_TEXT.count(" ") + 2 * TINY_TEXT.count("\n")
    # the validation lines were left out: the training text is likelier than the held-out one
    assert score(kn, train_ids).mean() > score(kn, valid_ids).mean()


def test_eval_prints_the_network_the_baseline_and_the_mix(held, tmp_path):
    model, base = held
    plain = run("eval", base / CORPUS, "--model", model, "--json")
    both = run("eval", base / CORPUS, "--model", model, "--json", "--baseline", "kn3")
    assert both.exit_code == 0, both.stderr
    got, net = json.loads(both.stdout), json.loads(plain.stdout)
    assert {k: got[k] for k in net} == pytest.approx(net)
    assert got["baseline"]["name"] == "kn3" and 0.0 <= got["mix"]["lambda"] <= 1.0
    for part in ("baseline", "mix"):
        assert got[part]["perplexity"] == pytest.approx(math.exp(got[part]["cross_entropy"]))
    text = run("eval", base / CORPUS, "--model", model, "--baseline", "kn3")
    assert "kn3" in text.stdout and "lambda" in text.stdout


def test_lambda_makes_the_mix_at_least_as_good_as_either_on_the_validation_text(held):
    model, _ = held
    saved = model_folder.load(model)
    kn, _, _ = folder.load(f"{model}.kn3")
    _, valid_ids = model_texts(saved)
    got = compare(saved, kn, valid_ids, "kn3")
    best = min(got["network"]["cross_entropy"], got["baseline"]["cross_entropy"])
    assert got["mix"]["cross_entropy"] <= best + 1e-9


def test_per_token_log_probabilities_add_up_to_the_total(held):
    saved = model_folder.load(held[0])
    ids, _ = model_texts(saved)
    s = evaluate(saved.model, ids, saved.vocab.eos, saved.vocab.unk, True, n_streams=3,
                 bptt=5, per_token=True)
    assert len(s.logp) == s.tokens == len(ids)
    assert -s.logp.sum() == pytest.approx(s.nll, rel=1e-6)


def test_arpa_export(held, tmp_path):
    _, base = held
    result = run("kn", "arpa", base / "model.kn3", tmp_path / "kn3.arpa")
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "kn3.arpa").read_text()
    assert text.startswith("\\data\\\nngram 1=") and text.endswith("\\end\\\n")
    assert "\t</s>\n" in text and "\t<s>\t" in text and "<eos>" not in text
    assert run("kn", "arpa", base / "model.kn3").stdout == text


@pytest.mark.parametrize("args, fragment, code", [
    (["eval", "CORPUS", "--baseline", "kn0"], "order must be 1 to 5, got 0", 2),  # usage
    (["eval", "CORPUS", "--baseline", "kn7"], "order must be 1 to 5, got 7", 2),
    (["kn", "build", "--order", "0"], "order must be 1 to 5, got 0", 2),
    (["kn", "build", "--order", "6"], "order must be 1 to 5, got 6", 2),
    (["eval", "CORPUS", "--baseline", "nowhere"], "no such n-gram folder", 1),
])
def test_bad_orders_and_names(held, args, fragment, code):
    model, base = held
    args = [str(base / CORPUS) if a == "CORPUS" else a for a in args]
    assert_error(run(*args, "--model", model), fragment, code)


def test_a_folder_for_another_vocabulary(held, tiny_model, tmp_path):
    model, base = held
    other = run("kn", "build", "--model", tiny_model, "--order", "2", "--out", tmp_path / "o")
    assert other.exit_code == 0, other.stderr
    assert_error(run("eval", base / CORPUS, "--model", model, "--baseline", tmp_path / "o"),
                 "built for another vocabulary")


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: d.__setitem__(len(d) // 2, d[len(d) // 2] ^ 1), "corrupted: checksum mismatch"),
    (lambda d: d.__delitem__(slice(len(d) // 2, None)), "corrupted: truncated"),
])
def test_a_corrupted_folder(held, tmp_path, damage, fragment):
    import shutil
    model, base = held
    shutil.copytree(base / "model.kn3", tmp_path / "kn")
    data = bytearray((tmp_path / "kn" / "kn.safetensors").read_bytes())
    damage(data)
    (tmp_path / "kn" / "kn.safetensors").write_bytes(bytes(data))
    assert_error(run("eval", base / CORPUS, "--model", model, "--baseline", tmp_path / "kn"),
                 fragment)
    (tmp_path / "kn" / "kn.json").write_text("{")
    assert_error(run("kn", "arpa", tmp_path / "kn"), "damaged")


def test_scoring_matches_between_the_folder_and_the_model_it_was_saved_from(held):
    model, _ = held
    saved = model_folder.load(model)
    ids, _ = model_texts(saved)
    from rnncli.ngram.kn import estimate
    kn = estimate(ids, len(saved.vocab), saved.vocab.eos, 3)
    loaded, _, _ = folder.load(f"{model}.kn3")
    np.testing.assert_array_equal(score(kn, ids), score(loaded, ids))


def test_a_training_text_changed_since_training_is_refused(held, tmp_path):
    from rnncli.errors import DataError
    saved = model_folder.load(held[0])
    (tmp_path / "other.txt").write_text(TINY_TEXT.replace("cat", "fox"))
    saved.config.data.train = [str(tmp_path / "other.txt")]
    with pytest.raises(DataError, match="not the one the model was trained on"):
        model_texts(saved)


def test_build_never_writes_over_a_folder_that_is_something_else(held, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    assert_error(run("kn", "build", "--model", held[0], "--order", "2", "--out",
                     tmp_path / "mine"), "exists and is not an rnncli n-gram folder")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"


def test_a_character_model_s_build_says_arpa_will_not_write_it(tmp_path):
    """A character model's vocabulary holds the space, which ARPA cannot: kn build says so
    when it builds (the folder still serves eval --baseline), and kn arpa refuses it."""
    from rnncli.config.schema import load_config
    from rnncli.train.loop import train

    (tmp_path / "tiny.txt").write_text(TINY_TEXT)
    (tmp_path / "c.yaml").write_text("data: {train: tiny.txt, valid_fraction: 0.25, "
                                     "tokenizer: char}\nmodel: {embedding: 4, hidden: 4}\n"
                                     "train: {epochs: 1, batch_size: 2, bptt: 8}\n")
    model = model_folder.save(train(load_config(tmp_path / "c.yaml")), tmp_path / "model")
    built = run("kn", "build", "--model", model, "--order", "2")
    assert built.exit_code == 0, built.stderr
    assert "warning: `rnncli kn arpa` will not write this n-gram model: the vocabulary has " \
           "tokens that are spaces or hold them (' ')" in built.stderr
    assert run("eval", tmp_path / "tiny.txt", "--model", model, "--baseline", "kn2"
               ).exit_code == 0
    assert_error(run("kn", "arpa", tmp_path / "model.kn2"), "cannot write ARPA: the vocabulary")
