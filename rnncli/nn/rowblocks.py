"""Row-parallel elementwise work for the big (N, V) arrays of the output layer.

BLAS already spreads the matrix products over the cores, but NumPy's elementwise functions (exp,
max, sum) run on one. They release the GIL, so the rows of a large array can be cut into one
block per core and each block handled by a thread. Rows are independent, so the result is the
same, bit for bit, whatever the number of threads. (The command line keeps OpenBLAS's own
threads from spinning on the cores meanwhile: rnncli.nn.blas.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_pool: ThreadPoolExecutor | None = None
_workers: int | None = None  # set by rnncli.nn.threads, which chooses the count
MIN_ELEMENTS = 1 << 18  # below this, a thread's hand-off costs more than it saves
CACHE_BLOCK = 1 << 18  # elements of the row pieces each elementwise pass reads (1 MB in float32)


def cache_rows(C: int) -> int:
    """How many rows of C elements make one cache-sized piece (CACHE_BLOCK elements, at
    least one row): the softmax passes (shift, exp, sum, scale) go over such a piece one after
    another while it is in cache, instead of each over the whole array."""
    return max(1, CACHE_BLOCK // C)


def set_workers(n: int | None) -> None:
    """Use n threads from now on (None: as `workers` finds without)."""
    global _workers
    _workers = n


def workers() -> int:
    """How many threads: the count rnncli.nn.threads chose, else RNNCLI_THREADS, else the
    cores this process may use."""
    if _workers is not None:
        return _workers
    env = os.environ.get("RNNCLI_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def for_row_blocks(n_rows: int, n_elements: int, fn: Callable[[slice], None]) -> None:
    """Call fn(rows) for contiguous blocks of rows that cover range(n_rows), in parallel."""
    global _pool
    k = min(workers(), n_rows)
    if k <= 1 or n_elements < MIN_ELEMENTS:
        fn(slice(0, n_rows))
        return
    if _pool is None or _pool._max_workers < k:
        _pool = ThreadPoolExecutor(max_workers=k, thread_name_prefix="rnncli")
    bounds = [n_rows * i // k for i in range(k + 1)]
    futures = [_pool.submit(fn, slice(a, b)) for a, b in zip(bounds[1:-1], bounds[2:])]
    fn(slice(bounds[0], bounds[1]))  # the calling thread takes the first block
    for f in futures:
        f.result()


def count_above(block: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """How many entries of each row of block (k, C) exceed that row's threshold (k,): (k,).

    The comparison's booleans are summed as bytes into int16 where a row's count fits (a quick
    widening sum, several times faster than count_nonzero along an axis), else row by row."""
    above = block > threshold[:, None]  # (k, C)
    if block.shape[1] < 1 << 15:
        return np.add.reduce(above.view(np.int8), axis=1, dtype=np.int16)
    return np.array([np.count_nonzero(row) for row in above], dtype=np.int64)
