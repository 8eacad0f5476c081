"""The ranks of an MPI job (mpi4py): sums and gathers that cannot hang for ever.

Imported only when an MPI launcher started rnncli as one of several ranks (distributed.world).
Every collective is non-blocking and waited on with a deadline, RNNCLI_MPI_TIMEOUT seconds
(default 600). A rank that waits past it asks every other rank whether it is still there (the
ranks answer while they wait), names the ones that do not answer in one `Error:` line and ends
the job with MPI_Abort. A rank killed outright is usually noticed sooner by the launcher itself
(mpiexec and mpirun end the job at once); the deadline covers the launchers that wait, and ranks
that hang.
"""

from __future__ import annotations

import os
import sys
import time

import mpi4py
import numpy as np

from rnncli.errors import ConfigError

mpi4py.rc.thread_level = "funneled"  # only the main thread calls MPI
from mpi4py import MPI  # noqa: E402  (after the thread level is chosen)

PING, PONG = 7301, 7302  # message tags of the are-you-there question and its answer
DEFAULT_TIMEOUT = 600.0  # seconds a rank waits in one collective before asking around


def timeout_from_env() -> float:
    value = os.environ.get("RNNCLI_MPI_TIMEOUT", "")
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"RNNCLI_MPI_TIMEOUT: {value!r} is not a number of seconds > 0")
    return seconds


class MPIComm:
    """distributed.Communicator over MPI_COMM_WORLD; `seconds` and `calls` count the time
    spent waiting in collectives (what the benchmark reports)."""

    def __init__(self, expected_size: int):
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        if self.size != expected_size:
            raise ConfigError(f"the launcher started {expected_size} ranks but MPI sees "
                              f"{self.size}: mpi4py's MPI library is not the one this launcher "
                              "starts (use the mpiexec of the same MPI, or srun --mpi=pmix)")
        self.timeout = timeout_from_env()
        self.seconds, self.calls = 0.0, 0
        self._pongs: list = []  # answers in flight
        self.where = self._where()

    def _where(self) -> list[str]:
        """"pid@host" of every rank: what a launcher that ends the job names a dead rank by."""
        rows = np.zeros((self.size, 72), dtype=np.int64)  # pid, then the host's bytes
        host = MPI.Get_processor_name().encode("utf-8")[:71]
        rows[self.rank, 0] = os.getpid()
        rows[self.rank, 1: 1 + len(host)] = list(host)
        self.allreduce(rows)
        names = [bytes(r[1:][r[1:] > 0].astype(np.uint8)).decode("utf-8", "replace")
                 for r in rows]
        return [f"{int(r[0])}@{name}" for r, name in zip(rows, names)]

    def allreduce(self, buf: np.ndarray) -> None:
        """Sum over the ranks in place: summed on rank 0, then sent from it, so that every rank
        holds the same bits (MPI_Allreduce may sum in another order on each rank: with 3 ranks
        their weights drifted apart)."""
        if self.rank == 0:
            reduce = self.comm.Ireduce(MPI.IN_PLACE, buf, op=MPI.SUM, root=0)
        else:
            reduce = self.comm.Ireduce(buf, None, op=MPI.SUM, root=0)
        self._wait(reduce, "a sum over the ranks")
        self._wait(self.comm.Ibcast(buf, root=0), "a sum over the ranks")

    def gather(self, buf: np.ndarray) -> np.ndarray | None:
        out = np.empty((self.size, *buf.shape), dtype=buf.dtype) if self.rank == 0 else None
        self._wait(self.comm.Igather(np.ascontiguousarray(buf), out, root=0),
                   "gathering the hidden state")
        return out

    def abort(self, message: str) -> None:
        print(f"Error: {message}", file=sys.stderr, flush=True)
        time.sleep(0.5)  # for the launcher to pass the line on before it tears the job down
        self.comm.Abort(1)

    # --- waiting ----------------------------------------------------------------------------

    def _wait(self, request, what: str) -> None:
        """Drive `request` to completion: spin for a millisecond (a sum of a window's gradients
        is done by then when the ranks arrive together), then poll, answering questions."""
        start = time.perf_counter()
        deadline = start + self.timeout
        while not request.Test():
            now = time.perf_counter()
            if now - start > 1e-3:
                self._answer()
                time.sleep(1e-4 if now - start < 0.1 else 1e-3)
                if now > deadline:
                    self._stalled(what)
        self.seconds += time.perf_counter() - start
        self.calls += 1

    def _answer(self) -> None:
        """Tell every rank that asked that this one is still here."""
        status = MPI.Status()
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=PING, status=status):
            source = status.Get_source()
            self.comm.Recv(np.empty(1, dtype=np.int32), source=source, tag=PING)
            self._pongs.append(self.comm.Isend(np.array([self.rank], dtype=np.int32),
                                               dest=source, tag=PONG))

    def _stalled(self, what: str) -> None:
        """Past the deadline: 1) ask every other rank, 2) wait for answers a little while,
        3) the lowest rank still here names the silent ones and ends the job."""
        others = [r for r in range(self.size) if r != self.rank]
        ping = np.array([self.rank], dtype=np.int32)
        sent = [self.comm.Isend(ping, dest=r, tag=PING) for r in others]
        replies = {r: np.empty(1, dtype=np.int32) for r in others}
        pending = {r: self.comm.Irecv(replies[r], source=r, tag=PONG) for r in others}
        grace = min(self.timeout, 10.0)
        end = time.perf_counter() + grace
        answered: list[int] = []
        while pending and time.perf_counter() < end:
            self._answer()
            for r, req in list(pending.items()):
                if req.Test():
                    answered.append(r)
                    del pending[r]
            time.sleep(1e-3)
        silent = sorted(pending)
        if silent:
            who = ", ".join(map(str, silent))
            message = (f"rank{'s' if len(silent) > 1 else ''} {who} stopped answering: "
                       f"{what} waited {self.timeout:g} s (RNNCLI_MPI_TIMEOUT); ending the job")
        else:
            message = (f"{what} did not complete in {self.timeout:g} s although every rank "
                       "answers (RNNCLI_MPI_TIMEOUT); ending the job")
        if self.rank != min([self.rank, *answered]):  # a lower rank says it; wait for its end
            deadline = time.perf_counter() + grace
            while time.perf_counter() < deadline:
                self._answer()
                time.sleep(1e-3)
        del sent
        self.abort(message)
