"""Requests that wait together go through the network together, as stdin's prompts do.

One worker takes the oldest waiting request and every other one already waiting (up to
`max_batch` texts), groups them by what they must share to run as one call (their `key`: the
decoding options, what to report), and runs each group in one thread, one group at a time, off
the event loop. While a batch runs, new requests queue up and become the next batch: an idle
server answers a lone request at once, a busy one answers many per pass through the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rnncli.errors import RnncliError


@dataclass
class Job:
    """One request's texts waiting for a batch, and the future its results are put into."""
    key: Hashable  # jobs with equal keys may run as one call
    texts: list[str]
    extra: object  # what work needs of this job alone (its seed)
    tokens: list[list[str]] | None = None  # each text's tokens, as the request's check split them
    future: asyncio.Future = field(repr=False, default=None)


# work(key, jobs) -> one list of results per job, in order; a RnncliError fails the whole call
Work = Callable[[Hashable, list[Job]], list[list]]


class Batcher:
    """The queue of waiting requests and the worker that runs them in batches (the module's
    docstring says how); `work` is what a batch does, given its key and jobs."""
    def __init__(self, work: Work, max_batch: int):
        self.work, self.max_batch = work, max_batch
        self.queue: asyncio.Queue[Job] | None = None
        self.task: asyncio.Task | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.batches = 0  # calls made, and the texts they answered (for tests and logs)
        self.texts = 0

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
                     tokens: list[list[str]] | None = None) -> list:
        """The job's results, once a batch has run it (its RnncliError, raised, if it fails)."""
        job = Job(key, texts, extra, tokens, asyncio.get_running_loop().create_future())
        self.queue.put_nowait(job)
        return await job.future

    async def _loop(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            n = len(jobs[0].texts)
            while n < self.max_batch and not self.queue.empty():
                jobs.append(self.queue.get_nowait())
                n += len(jobs[-1].texts)
            groups: dict[Hashable, list[Job]] = {}
            for job in jobs:
                if not job.future.done():  # a client that went away is not answered
                    groups.setdefault(job.key, []).append(job)
            for key, group in groups.items():
                await self._run(key, group)

    async def _run(self, key: Hashable, group: list[Job]) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self.executor, self.work, key, group)
        except RnncliError as e:
            if len(group) > 1:  # one job's fault: run each alone, so only it fails
                for job in group:
                    await self._run(key, [job])
                return
            results = [e]
        except Exception as e:  # a bug: the request gets a 500, the server goes on
            results = [e] * len(group)
        self.batches += 1
        self.texts += sum(len(job.texts) for job in group)
        for job, result in zip(group, results):
            if job.future.done():
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
