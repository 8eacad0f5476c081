"""Data-parallel training: one model trained by N processes (ranks), the streams dealt out.

    1) the corpus is cut into batch_size streams exactly as in one process; rank r holds the
       contiguous block of B / N of them, streams r * B/N .. (r + 1) * B/N - 1
    2) each rank runs forward and backward on its streams; its gradients, scaled by its share of
       the window's tokens (B/N of B), are summed over the ranks by one all-reduce of one
       contiguous buffer, which also carries the loss and the stop/checkpoint flags
    3) every rank then holds the gradient one process computes on all B streams (up to float32
       summation order), clips it on that global norm and takes the same step

A `Communicator` is what the loop needs of the ranks: `rank`, `size`, `allreduce(buf)` (sum in
place), `gather(buf)` (rank 0 gets every rank's buf, stacked) and `abort`. `Local` is the one
process of a plain run, where all of them are no-ops; `world()` gives the MPI one
(rnncli/mpi.py, mpi4py) only when an MPI launcher started this process with more than one rank.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import fields
from typing import Protocol

import numpy as np

from rnncli.errors import ConfigError, RnncliError
from rnncli.infer.evaluate import EvalTotals
from rnncli.nn.layers import RowGrad

# the world's size as the launchers tell it: MPICH/Intel MPI (hydra), Open MPI, SLURM's srun
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID")


class Communicator(Protocol):
    """What training needs of its ranks: which one this is, how many, and their sums (an MPI
    communicator through rnncli.train.mpi, or Local for one process)."""
    rank: int
    size: int

    def allreduce(self, buf: np.ndarray) -> None: ...  # sum over the ranks, in place
    def gather(self, buf: np.ndarray) -> np.ndarray | None: ...  # rank 0: (size, *buf.shape)
    def abort(self, message: str) -> None: ...  # print one Error line, end every rank


class Local:
    """The one process of a plain run."""
    rank, size = 0, 1

    def allreduce(self, buf):
        pass

    def gather(self, buf):
        return buf[None]

    def abort(self, message):
        raise RnncliError(message)


class PeerFailed(Exception):
    """Another rank failed before training began and reported it; this one stops quietly."""


def _launched(names: tuple[str, ...]) -> int | None:
    for name in names:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return None


def world() -> Communicator:
    """The ranks this process belongs to: Local unless an MPI launcher (mpiexec, mpirun, srun)
    started it as one of several. mpi4py is imported only then."""
    size = _launched(SIZE_VARIABLES) or 1
    if size <= 1:
        return Local()
    try:
        from rnncli.train.mpi import MPIComm
    except ImportError:
        if (_launched(RANK_VARIABLES) or 0) != 0:
            raise PeerFailed() from None  # rank 0 says it
        raise ConfigError(f"started by an MPI launcher as one of {size} ranks, but mpi4py is "
                          "not installed: pip install 'rnncli[mpi]'") from None
    return MPIComm(size)


class Shard:
    """This rank's share of the batch_size streams.

    Raises ConfigError when batch_size is not a multiple of the number of ranks.
    """

    def __init__(self, comm: Communicator, batch_size: int):
        if batch_size % comm.size:
            raise ConfigError(f"train.batch_size: {batch_size} streams cannot be dealt out "
                              f"evenly to {comm.size} ranks: make it a multiple of "
                              f"{comm.size}")
        self.comm = comm
        n = batch_size // comm.size
        self.streams = range(comm.rank * n, (comm.rank + 1) * n)
        self.share = n / batch_size  # of every window's tokens

    def columns(self, data: np.ndarray) -> np.ndarray:
        """This rank's streams of a batched (L, B) array: (L, B / N)."""
        if self.comm.size == 1:
            return data
        return np.ascontiguousarray(data[:, self.streams.start: self.streams.stop])

    def local_state(self, state: list[tuple[np.ndarray, ...]]) -> list[tuple[np.ndarray, ...]]:
        """A checkpoint's state for all B streams -> this rank's rows."""
        s = slice(self.streams.start, self.streams.stop)
        return [tuple(np.array(a[s]) for a in layer) for layer in state]

    def gather_state(self, state: list[tuple[np.ndarray, ...]]):
        """Every rank's rows of the carried state, in stream order, on rank 0 (None elsewhere)."""
        if self.comm.size == 1:
            return state
        packed = np.stack([a for layer in state for a in layer])  # (K, B/N, H)
        got = self.comm.gather(packed)  # (N, K, B/N, H) on rank 0
        if got is None:
            return None
        whole = np.concatenate(list(got), axis=1)  # (K, B, H)
        per_layer = len(state[0])
        return [tuple(whole[k * per_layer + j] for j in range(per_layer))
                for k in range(len(state))]



# --- failures: before training every rank agrees; after, one rank's failure ends the job ------

def ready(comm: Communicator) -> None:
    """This rank has read the corpus and built its model: wait for the others to say the same
    (or to say they failed: `settle`)."""
    comm.phase = "training"
    if comm.size > 1:
        comm.allreduce(np.zeros(comm.size))


def done(comm: Communicator) -> None:
    """Training ended the same way on every rank (finished, interrupted, diverged)."""
    comm.phase = "done"


def settle(comm: Communicator, error: BaseException) -> BaseException:
    """What this rank raises after `error`.

    Before `ready`, the ranks agree: the lowest rank that failed raises its error (led by
    "rank r: " on ranks other than 0), the others PeerFailed, so one line is printed. During
    training, an error on one rank would leave the others waiting: it is printed and every rank
    ends. After `done`, the error is this rank's own (rank 0 writing the model).
    """
    phase = getattr(comm, "phase", "setup")
    if comm.size == 1 or phase == "done":
        return error
    if phase == "setup":
        failed = np.zeros(comm.size)
        failed[comm.rank] = 1.0
        comm.allreduce(failed)  # matches the others' `ready` or their own `settle`
        if comm.rank != int(np.flatnonzero(failed)[0]):
            return PeerFailed()
        if comm.rank and isinstance(error, RnncliError):
            return RnncliError(f"rank {comm.rank}: {error}")
        return error
    message = str(error) if isinstance(error, RnncliError) else f"{type(error).__name__}: {error}"
    comm.abort(f"rank {comm.rank}: {message}")
    return error


# --- the window's sums --------------------------------------------------------------------

class GradSync:
    """One all-reduce per window: every gradient, the loss and the flags in one float buffer.

    Each rank's loss and gradients are means over its own T * B/N targets; scaled by its share
    (B/N of B) and summed, they are the means over all T * B, the single-process step's.
    An embedding's RowGrad is laid out dense (V, E): the ranks read different rows.
    The buffer is laid out by the parameters' sorted names, never by the dict's order: weights
    read from a safetensors file come in an order that changes from one process to the next.
    """

    def __init__(self, comm: Communicator, params: dict[str, np.ndarray], share: float,
                 n_flags: int = 2):
        self.comm, self.share, self.n_flags = comm, share, n_flags
        dtype = next(iter(params.values())).dtype
        total = sum(p.size for p in params.values())
        self.buf, self.views = None, {}
        if comm.size > 1:  # one process sums nothing
            self.buf = np.empty(total + 1 + n_flags, dtype=dtype)  # grads, loss, flags
            at = 0
            for name, p in sorted(params.items()):
                self.views[name] = self.buf[at: at + p.size].reshape(p.shape)
                at += p.size

    def __call__(self, loss: float, grads: dict, flags: tuple[bool, ...]):
        """This rank's (loss, grads, flags) -> the sums over the ranks (flags: any rank's)."""
        if self.buf is None:
            return loss, grads, flags
        for name, g in grads.items():
            v = self.views[name]
            if isinstance(g, RowGrad):
                v.fill(0)
                v[g.rows] = g.values * self.share  # (R, E): the rows this rank read
            else:
                np.multiply(g, self.share, out=v)
        tail = self.buf[-1 - self.n_flags:]
        tail[0] = loss * self.share
        tail[1:] = flags
        self.comm.allreduce(self.buf)
        return float(tail[0]), dict(self.views), tuple(bool(f > 0) for f in tail[1:])


def sum_scores(comm: Communicator, scores: EvalTotals) -> EvalTotals:
    """The validation scores of every rank's share, summed field by field (in float64); the
    counts stay ints. Fields that are not numbers (the per-target logp) are left at their
    defaults."""
    if comm.size == 1:
        return scores
    counts = {f.name: getattr(scores, f.name) for f in fields(scores)}
    counts = {name: v for name, v in counts.items() if isinstance(v, (int, float))}  # by name:
    # every number a field holds is summed (a per-target array such as logp is not)
    buf = np.array(list(counts.values()), dtype=np.float64)  # (F,)
    comm.allreduce(buf)
    summed = {name: type(v)(total) for (name, v), total in zip(counts.items(), buf.tolist())}
    return type(scores)(**summed)


def check_same_weights(comm: Communicator, params: dict[str, np.ndarray]) -> None:
    """Every rank must hold the same weights at the end; a difference is a bug, never hidden."""
    if comm.size == 1:
        return
    digest = 0
    for name in sorted(params):
        digest = zlib.crc32(np.ascontiguousarray(params[name]).tobytes(), digest)
    digests = np.zeros(comm.size)
    digests[comm.rank] = digest
    comm.allreduce(digests)
    differ = np.flatnonzero(digests != digests[0])
    if len(differ):
        raise RnncliError(f"ranks {', '.join(map(str, differ))} ended with weights that differ "
                          "from rank 0's: the MPI sums were not the same on every rank")
