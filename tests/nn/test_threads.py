"""The thread count: a fixed setting wins over RNNCLI_THREADS, which wins over auto; auto tries
each count for a few windows, keeps the fastest, and tries the others again later. BLAS's count
is set in the running process (threadpoolctl), as are rnncli's row-block threads."""

import pytest
from training import blas_threads

from rnncli.nn import rowblocks, threads

pytestmark = pytest.mark.usefixtures("restore_threads")


def test_use_sets_blas_and_row_block_threads():
    threads.use(2)
    assert blas_threads() == {2} and rowblocks.workers() == 2
    threads.use(1)
    assert blas_threads() == {1} and rowblocks.workers() == 1


@pytest.mark.parametrize("value, want", [(None, None), ("auto", None), (3, 3), ("2", 2)])
def test_parse(value, want):
    assert threads.parse(value) == want


@pytest.mark.parametrize("value", [0, -1, "many", 1.5, True])
def test_parse_refuses(value):
    with pytest.raises(ValueError, match="expected a number of threads"):
        threads.parse(value)


def test_a_setting_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("RNNCLI_THREADS", "3")
    assert threads.fixed("auto") == 3 and threads.fixed(2) == 2
    monkeypatch.delenv("RNNCLI_THREADS")
    assert threads.fixed("auto") is None


def test_the_first_guess_leaves_the_busy_cores(monkeypatch):
    monkeypatch.setattr(threads, "available", lambda: 4)
    for load, want in ((0.0, 4), (1.2, 3), (3.0, 1), (12.0, 1)):
        monkeypatch.setattr(threads.os, "getloadavg", lambda load=load: (load, 0.0, 0.0))
        assert threads.first_guess() == want


class Clock:
    """A clock whose windows take `per_token[count]` seconds a token at the count in force."""

    def __init__(self, per_token):
        self.now, self.per_token = 0.0, per_token

    def __call__(self):
        return self.now


def run_windows(tuner, clock, n, tokens=100):
    counts = []
    for _ in range(n):
        counts.append(tuner.current)
        clock.now += clock.per_token[tuner.current] * tokens
        tuner.tick(tokens)
    return counts


def test_auto_keeps_the_faster_count_and_tries_again_later(monkeypatch):
    monkeypatch.delenv("RNNCLI_THREADS")
    monkeypatch.setattr(threads, "available", lambda: 2)
    monkeypatch.setattr(threads, "first_guess", lambda: 2)
    clock = Clock({1: 1e-4, 2: 5e-4})  # a busy machine: the second thread makes it slower
    tuner = threads.Tuner("auto", clock=clock)
    tuner.pause()
    clock.now = 0.0
    tuner.tick(0)  # the clock starts
    counts = run_windows(tuner, clock, 40)
    assert counts[:5] == [2] * 5 and counts[5:11] == [1] * 6  # each timed, then the best kept
    assert set(counts[11:]) == {1} and rowblocks.workers() == 1
    clock.per_token = {1: 1e-4, 2: 2e-5}  # the machine is idle now
    clock.now += threads.RETRY
    counts = run_windows(tuner, clock, 40)
    assert counts[-1] == 2 and tuner.choices == [2, 1, 2]  # 2 timed again, and kept


def test_a_fixed_count_is_never_changed(monkeypatch):
    monkeypatch.setattr(threads, "available", lambda: 2)
    clock = Clock({1: 1e-3, 2: 1e-5})
    tuner = threads.Tuner(1, clock=clock)
    assert run_windows(tuner, clock, 30) == [1] * 30 and tuner.choices == [1]


def test_a_plainly_slower_count_is_left_after_one_window_and_tried_seldom(monkeypatch):
    monkeypatch.delenv("RNNCLI_THREADS")
    monkeypatch.setattr(threads, "available", lambda: 2)
    monkeypatch.setattr(threads, "first_guess", lambda: 1)
    clock = Clock({1: 1e-4, 2: 8e-4})  # 8x slower with 2 threads, as on a busy machine
    tuner = threads.Tuner("auto", clock=clock)
    tuner.tick(0)
    counts = run_windows(tuner, clock, 3000)  # 30 s of windows at 1 thread
    assert counts[:7] == [1] * 5 + [2, 1]  # 1 timed, 2 left after its first window
    slow = counts.count(2) * 8e-4 * 100
    assert slow <= 0.05 * clock.now  # trying costs a few percent of the time at most


def test_a_count_barely_faster_does_not_replace_the_one_kept(monkeypatch):
    monkeypatch.delenv("RNNCLI_THREADS")
    monkeypatch.setattr(threads, "available", lambda: 2)
    monkeypatch.setattr(threads, "first_guess", lambda: 1)
    clock = Clock({1: 1.00e-4, 2: 0.95e-4})  # within the noise of a busy machine
    tuner = threads.Tuner("auto", clock=clock)
    tuner.tick(0)
    counts = run_windows(tuner, clock, 20)
    assert counts[-1] == 1 and tuner.choices == [1, 2, 1]
