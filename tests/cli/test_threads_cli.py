"""The thread count from the command line and the config: --threads for eval, complete, score
and serve, train.threads; and eval's accuracy, counted where cheap or asked."""

import json

import pytest
from clirun import run
from training import blas_threads

from rnncli.config.schema import load_config
from rnncli.errors import ConfigError
from rnncli.nn import rowblocks

pytestmark = pytest.mark.usefixtures("restore_threads")


@pytest.mark.parametrize("command", [["complete", "the cat"], ["score", "the cat"]])
def test_threads_option_sets_the_count(tiny_model, command):
    result = run(*command, "-m", tiny_model, "--threads", "2")
    assert result.exit_code == 0, result.stderr
    assert blas_threads() == {2} and rowblocks.workers() == 2


def test_eval_threads_and_accuracy(tiny_model, tiny_corpus):
    plain = run("eval", tiny_corpus, "-m", tiny_model, "--threads", "2")
    assert plain.exit_code == 0 and blas_threads() == {2}
    assert "top-1" in plain.stdout  # the full softmax: counted by default
    skipped = run("eval", tiny_corpus, "-m", tiny_model, "--no-accuracy")
    assert "accuracy       not counted (--accuracy counts it)" in skipped.stdout
    assert [x for x in skipped.stdout.splitlines() if x.startswith("perplexity")] == \
        [x for x in plain.stdout.splitlines() if x.startswith("perplexity")]
    scores = json.loads(run("eval", tiny_corpus, "-m", tiny_model, "--json",
                            "--no-accuracy").stdout)
    assert scores["accuracy"] is None and scores["top5_accuracy"] is None


@pytest.mark.parametrize("value", ["0", "many", "-2"])
def test_a_bad_threads_option_is_a_usage_error(tiny_model, value):
    result = run("complete", "the cat", "-m", tiny_model, "--threads", value)
    assert result.exit_code == 2 and "expected a number of threads" in result.output


def test_train_threads_in_the_config(tiny_config):
    assert load_config(tiny_config).train.threads == "auto"
    assert load_config(tiny_config, ["train.threads=2"]).train.threads == 2
    with pytest.raises(ConfigError, match="train.threads: must be a number of threads"):
        load_config(tiny_config, ["train.threads=0"])
    with pytest.raises(ConfigError, match="train.threads: must be a number of threads"):
        load_config(tiny_config, ["train.threads=lots"])
