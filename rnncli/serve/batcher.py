"""Requests that wait together go through the network together, as stdin's prompts do, and no
request holds the model long enough to stall the others.

One worker takes every waiting request (up to `max_batch` texts), groups them by what they must
share to run as one call (their `key`: the decoding options, what to report), and runs the
groups in one thread, off the event loop. A group's work is a generator of slices (see
rnncli.serve.work): the worker runs one slice of one group at a time, round robin, and a newly
arrived group's first slice goes before the next slice of work already under way. So an idle
server answers a lone request at once, a busy one answers many per pass through the network, and
a one-word request waits for at most a slice of each long one (an explanation, a trace).

Before each slice, jobs whose client has gone (their future cancelled) or whose deadline has
passed are dropped; a group with no job left stops there. At most `max_queue` requests wait or
work at once: one more is refused (Busy) rather than queued.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Generator, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rnncli.errors import RnncliError


class Busy(Exception):
    """The queue is full: the request is refused, to be sent again later."""


class Expired(Exception):
    """The request's deadline passed before its work was done."""


@dataclass
class Job:
    key: Hashable  # jobs with equal keys may run as one call
    texts: list[str]
    extra: object  # what work needs of this job alone (its seed)
    tokens: list[list[str]] | None = None  # each text's tokens, as the request's check split them
    future: asyncio.Future = field(repr=False, default=None)
    deadline: float = math.inf  # time.monotonic() by which it must be answered
    alone: bool = False  # never batched with other jobs (long work, dropped on its own)


# work(key, jobs) -> a generator that yields between slices and returns one list of results
# per job, in order; a RnncliError fails the whole call
Work = Callable[[Hashable, list[Job]], Generator[None, None, list[list]]]


@dataclass
class Running:
    key: Hashable
    jobs: list[Job]
    steps: Generator


def _step(steps: Generator) -> tuple[bool, object]:
    """One slice, in the model's thread: (finished, the results when finished)."""
    try:
        next(steps)
        return False, None
    except StopIteration as done:
        return True, done.value


class Batcher:
    def __init__(self, work: Work, max_batch: int, max_queue: int = 1024):
        self.work, self.max_batch, self.max_queue = work, max_batch, max_queue
        self.queue: asyncio.Queue[Job] | None = None
        self.task: asyncio.Task | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.pending = 0  # requests submitted and not yet answered
        self.batches = 0  # calls made, and the texts they answered (for tests and logs)
        self.texts = 0
        self.slices = 0

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="rnncli-model")
        self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """After the last request has been answered (the server waits for them first)."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.executor is not None:
            self.executor.shutdown(wait=True)

    async def submit(self, key: Hashable, texts: list[str], extra: object = None,
                     tokens: list[list[str]] | None = None, timeout: float = math.inf,
                     alone: bool = False) -> list:
        """The job's results, once its work has run (its RnncliError, raised, if it fails).
        Cancelling the caller drops the job before its next slice."""
        if self.pending >= self.max_queue:
            raise Busy(f"the server has {self.pending:,} requests in hand (--max-queue)")
        job = Job(key, texts, extra, tokens, asyncio.get_running_loop().create_future(),
                  time.monotonic() + timeout, alone)
        self.pending += 1
        try:
            self.queue.put_nowait(job)
            return await job.future
        finally:
            self.pending -= 1

    async def _loop(self) -> None:
        active: deque[Running] = deque()
        while True:
            jobs = [] if active else [await self.queue.get()]
            n = sum(len(job.texts) for job in jobs)
            while n < self.max_batch and not self.queue.empty():
                jobs.append(self.queue.get_nowait())
                n += len(jobs[-1].texts)
            groups: dict[Hashable, list[Job]] = {}
            for job in jobs:
                groups.setdefault((job.key, id(job)) if job.alone else (job.key,),
                                  []).append(job)
            # new work first, then the next slice of work under way
            active.extendleft(reversed([Running(k[0], g, self.work(k[0], g))
                                        for k, g in groups.items()]))
            run = active.popleft()
            if self._drop_gone(run):
                await self._slice(run, active)

    def _drop_gone(self, run: Running) -> bool:
        """Whether any of the group's jobs is still wanted (the others are answered Expired or
        were cancelled); none: its work stops here."""
        now = time.monotonic()
        for job in run.jobs:
            if not job.future.done() and now > job.deadline:
                job.future.set_exception(Expired("the request was not answered within its "
                                                 "deadline (--request-timeout)"))
        if any(not job.future.done() for job in run.jobs):
            return True
        run.steps.close()
        return False

    async def _slice(self, run: Running, active: deque[Running]) -> None:
        loop = asyncio.get_running_loop()
        try:
            finished, results = await loop.run_in_executor(self.executor, _step, run.steps)
        except RnncliError as e:
            if len(run.jobs) > 1:  # one job's fault: run each alone, so only it fails
                active.extendleft(Running(run.key, [job], self.work(run.key, [job]))
                                  for job in run.jobs)
                return
            finished, results = True, [e]
        except Exception as e:  # a bug: the request gets a 500, the server goes on
            finished, results = True, [e] * len(run.jobs)
        self.slices += 1
        if not finished:
            active.append(run)
            return
        self.batches += 1
        self.texts += sum(len(job.texts) for job in run.jobs)
        for job, result in zip(run.jobs, results):
            if job.future.done():
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
