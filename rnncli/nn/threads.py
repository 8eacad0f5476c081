"""How many threads rnncli computes with: BLAS's (the matrix products) and its own row blocks'
(rnncli.nn.rowblocks), always the same number of each.

A machine's core count says little about how many threads make rnncli faster: on a 2-core
machine that other processes keep busy, a second thread waits for a core most of the time, and
the threads that wait for each other at every product make a step several times slower than one
thread alone. So by default (`auto`) rnncli measures:

    1) the first guess is the cores this process may use (its affinity mask) less the load
       average, at least 1: an idle machine gets every core, a busy one fewer
    2) training (and eval) time each window at the count in force, and try each other count for
       a few windows (PROBE), then keep the count whose windows took least time per token (by a
       MARGIN: a busy machine's window times are noisy); a count whose first window is already
       SLOWER times the best one's is left at once
    3) the other counts are tried again later, since the load changes: after RETRY seconds, or
       after COST_SHARE times what the last try spent at the counts not kept, whichever is
       longer, so that trying costs at most about 1/COST_SHARE of the time

A number (train.threads, `--threads`, or the RNNCLI_THREADS environment variable, in that order
of precedence) fixes the count. The commands that answer prompts (complete, score, serve) do too
little work per call to measure: with auto they take the first guess.

BLAS's thread count is set while the process runs through threadpoolctl, which finds the BLAS
library NumPy loaded (OpenBLAS, MKL or BLIS, under whatever symbol names its build uses).
"""

from __future__ import annotations

import os
import statistics
import time

AUTO = "auto"
ENV = "RNNCLI_THREADS"
PROBE = 4  # windows timed per count when trying counts (the first, warming up, not counted)
RETRY = 20.0  # seconds at least between tries of the other counts
COST_SHARE = 50  # ... and at least this many times what the last try cost
SLOWER = 1.5  # a count whose window takes this many times the best's is left at once
MARGIN = 0.9  # another count replaces the one kept only if its windows take this share or less
KEEP = 8  # the recent windows whose times stand for the count in force

_controller = None
_blas_count: int | None = None


def available() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def parse(value: int | str | None, what: str = "threads") -> int | None:
    """A setting -> a fixed count, or None for auto; ValueError for anything else."""
    if value is None or value == AUTO:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what}: expected a number of threads (at least 1) or auto, "
                         f"got {value!r}")
    return value


def fixed(setting: int | str | None = AUTO) -> int | None:
    """The count a setting fixes: the setting's own, else RNNCLI_THREADS's, else None (auto)."""
    count = parse(setting)
    if count is None and os.environ.get(ENV, "").strip():
        count = parse(os.environ[ENV].strip(), ENV)
    return count


def first_guess() -> int:
    """The cores this process may use less the 1-minute load average, at least 1."""
    n = available()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        return n
    return max(1, min(n, round(n - busy)))


def use(n: int) -> None:
    """Compute with n threads from now on: BLAS's products and rnncli's row blocks."""
    global _controller, _blas_count
    from rnncli.nn import rowblocks

    rowblocks.set_workers(n)
    if n == _blas_count:
        return
    if _controller is None:
        import numpy  # noqa: F401  (BLAS must be loaded for threadpoolctl to find it)
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    _controller.limit(limits=n, user_api="blas")
    _blas_count = n


def start(setting: int | str | None = AUTO) -> int:
    """Set the count a command starts with, and return it: the fixed one, else the first
    guess."""
    n = fixed(setting) or first_guess()
    use(n)
    return n


class Tuner:
    """Chooses the thread count as windows go by (see the module's docstring); with a fixed
    count it only sets that count once.

    Call `tick(tokens)` after each window (the time since the previous tick is that window's);
    `pause()` before work that is not windows (validation), so that it is not counted."""

    def __init__(self, setting: int | str | None = AUTO, clock=time.perf_counter):
        self.clock = clock
        count = fixed(setting)
        self.auto = count is None
        self.counts = list(range(1, available() + 1))
        self.current = count or first_guess()
        self.times: dict[int, list[float]] = {n: [] for n in self.counts}  # s/token, recent
        self.trying: list[int] = [n for n in self.counts if n != self.current]  # to time next
        self.probing = True  # timing each count in turn (else: keeping the best)
        self.kept = self.current  # the count in force before this round of tries
        self.spent: dict[int, float] = {n: 0.0 for n in self.counts}  # seconds, this try
        self.tried = 0  # windows at the count in force since it was set
        self.last: float | None = None
        self.next_try = 0.0
        self.choices: list[int] = [self.current]  # every count chosen, in order (for reports)
        use(self.current)

    def pause(self) -> None:
        self.last = None

    def tick(self, tokens: int) -> None:
        now = self.clock()
        last, self.last = self.last, now
        if not self.auto or last is None or tokens <= 0 or len(self.counts) == 1:
            return
        per_token = (now - last) / tokens
        if self.tried > 0:  # the first window after a switch warms up: not counted
            self.times[self.current] = (self.times[self.current] + [per_token])[-KEEP:]
        self.tried += 1
        if not self.probing:
            if now >= self.next_try:  # 3) time the others again
                self.trying = [n for n in self.counts if n != self.current]
                for n in self.trying:
                    self.times[n] = []
                self.spent = {n: 0.0 for n in self.counts}
                self.probing, self.kept = True, self.current
                self._switch(self.trying.pop(0))
            return
        self.spent[self.current] += now - last
        others = [statistics.median(t) for n, t in self.times.items() if t and n != self.current]
        if self.tried > PROBE or (others and per_token > SLOWER * min(others)):
            if self.trying:  # 2) this count is timed (or plainly slower): the next one
                self._switch(self.trying.pop(0))
                return
            self.probing = False  # every count is: keep the best, try again later
            self._switch(self.best())
            cost = sum(t for n, t in self.spent.items() if n != self.current)
            self.next_try = now + max(RETRY, COST_SHARE * cost)

    def best(self) -> int:
        """The count whose windows took least time per token, if by MARGIN better than the
        one kept so far; else that one."""
        timed = {n: statistics.median(t) for n, t in self.times.items() if t}
        if not timed:
            return self.current
        fastest = min(timed, key=timed.__getitem__)
        if self.kept in timed and timed[fastest] > MARGIN * timed[self.kept]:
            return self.kept
        return fastest

    def _switch(self, n: int) -> None:
        if n != self.current:
            self.current, self.tried = n, 0
            self.choices.append(n)
            use(n)
