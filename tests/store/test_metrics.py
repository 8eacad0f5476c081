"""rnncli.store.metrics: the run log's lines, its running totals and its file, on made-up
steps (no training)."""

import json

import pytest

from rnncli.store import metrics
from rnncli.store.metrics import MetricsLog

# (loss, tokens, seconds so far) of seven steps
STEPS = [(4.0, 10, 1.0), (2.0, 30, 2.0), (3.0, 20, 4.0), (1.0, 40, 5.0), (1.5, 20, 6.0),
         (0.5, 20, 8.0), (9.0, 50, 9.0)]


def run(log: MetricsLog, steps, epoch=1) -> MetricsLog:
    for loss, tokens, seconds in steps:
        log.add_step(epoch, loss, grad_norm=2 * loss, clipped=loss > 1, lr=0.1,
                     tokens=tokens, seconds=seconds)
    return log


def test_a_step_line_every_log_every_steps_averaging_the_steps_since_the_last():
    log = run(MetricsLog(log_every=3), STEPS)
    assert [line["step"] for line in log.lines] == [3, 6]
    first, second = log.lines
    assert first["loss"] == pytest.approx((4 * 10 + 2 * 30 + 3 * 20) / 60)  # token-weighted
    assert second["loss"] == pytest.approx((1 * 40 + 1.5 * 20 + 0.5 * 20) / 80)
    assert (first["tokens"], second["tokens"]) == (60, 140)  # the run's, so far
    assert first["tokens_per_s"] == pytest.approx(60 / 4.0)
    assert second["tokens_per_s"] == pytest.approx(80 / (8.0 - 4.0))  # since the last line
    assert (second["grad_norm"], second["clipped"], second["seconds"]) == (1.0, False, 8.0)
    assert (log.step, log.tokens) == (7, 190)  # the seventh step counts, unlogged as yet


def test_an_epoch_line_holds_the_record_and_the_run_totals():
    log = run(MetricsLog(log_every=100), STEPS[:2], epoch=1)
    log.add_epoch({"epoch": 1, "train_loss": 2.5, "valid_ppl": 12.0, "lr": 0.1}, seconds=2.5)
    assert log.lines == [{"kind": "epoch", "step": 2, "epoch": 1, "tokens": 40,
                          "train_loss": 2.5, "valid_ppl": 12.0, "lr": 0.1, "seconds": 2.5}]


@pytest.mark.parametrize("cut", [1, 3, 4, 6])
def test_a_log_resumed_from_its_state_goes_on_as_one_never_stopped(cut):
    whole = run(MetricsLog(log_every=3), STEPS)
    state = json.loads(json.dumps(run(MetricsLog(log_every=3), STEPS[:cut]).state()))
    resumed = run(MetricsLog(log_every=3, state=state), STEPS[cut:])
    assert resumed.lines == whole.lines
    assert resumed.state() == whole.state()


def test_the_file_is_one_json_object_a_line_and_reading_skips_what_is_not_one():
    lines = run(MetricsLog(log_every=2), STEPS).lines
    data = metrics.dumps(lines)
    assert data.decode().count("\n") == len(lines) == 3
    assert metrics.read(data.decode()) == lines
    damaged = data.decode() + '{"kind": "step", "st\n[1, 2]\n\n"text"\n'
    assert metrics.read(damaged) == lines
