"""Training says what it measures: with nothing held out, the training perplexity by that
name, and a warning once; the ETA within the run's budgets."""

import io
import time

from clirun import run
from rich.console import Console

from rnncli.cli.report import ConsoleReporter
from rnncli.store import model_folder


def test_nothing_held_out_is_said_once_and_recorded_as_training_perplexity(tiny_config,
                                                                           tmp_path):
    result = run("train", tiny_config, "--out", tmp_path / "m")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning: nothing is held out for validation") == 1
    epochs = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("train ppl" in e and "valid" not in e for e in epochs)
    assert "best training perplexity" in result.stderr
    history = model_folder.load(tmp_path / "m").history
    assert all("train_ppl" in r and "valid_ppl" not in r for r in history)


def test_the_eta_respects_the_time_and_token_budgets():
    def reporter(**budgets):
        r = ConsoleReporter(Console(file=io.StringIO()), **budgets)
        r.epochs, r.started, r.tokens = 100, time.perf_counter() - 10.0, 1000
        return r

    assert reporter().eta(1) > 900  # 99 more epochs of 10 s
    assert reporter(max_time=15.0).eta(1) <= 5.0  # 5 s of the budget left
    assert 9.0 < reporter(max_tokens=2000).eta(1) < 11.0  # 1,000 tokens more at 100 a second
