"""The row-parallel helpers of the output layer, and the BLAS setting the command line makes for
them."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rnncli.nn import rowblocks


@pytest.mark.parametrize("C", [7, 2000, 40_000])  # int16 sums, and a row too wide for them
def test_count_above_counts_each_rows_entries_over_its_threshold(C):
    rng = np.random.default_rng(C)
    block = rng.normal(0, 1, (5, C)).astype(np.float32)
    threshold = np.array([-np.inf, 0.0, 1.5, np.inf, block[4, 3]], dtype=np.float32)
    got = rowblocks.count_above(block, threshold)
    assert got.tolist() == [(row > t).sum() for row, t in zip(block, threshold)]
    assert got[0] == C and got[3] == 0


def test_count_above_reads_a_column_slice():
    rng = np.random.default_rng(0)
    block = rng.normal(0, 1, (4, 30)).astype(np.float32)
    t = np.zeros(4, dtype=np.float32)
    assert rowblocks.count_above(block[:, :12], t).tolist() == (block[:, :12] > 0).sum(1).tolist()


def test_for_row_blocks_covers_every_row_once(monkeypatch):
    monkeypatch.setattr(rowblocks, "_workers", 3)
    seen = np.zeros(1000, dtype=int)

    def fn(r: slice) -> None:
        seen[r] += 1

    rowblocks.for_row_blocks(1000, rowblocks.MIN_ELEMENTS, fn)
    assert (seen == 1).all()


def run_python(code: str, **env) -> str:
    e = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"} | env
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_command_line_asks_openblas_for_a_short_spin_before_numpy_loads():
    code = ("import os, sys, rnncli.cli; "
            "print('numpy' in sys.modules, os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")
    assert run_python(code) == "False 4"  # set, and early enough for OpenBLAS to read it
    assert run_python(code, OPENBLAS_THREAD_TIMEOUT="20") == "False 20"  # the user's is kept
