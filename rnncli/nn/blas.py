"""How the BLAS threads wait between matrix products: briefly, so that rnncli's own threads get
the cores.

After a product, OpenBLAS's worker threads spin for about 2^28 cycles (a tenth of a second)
before they sleep, ready for the next one. Between products rnncli runs elementwise passes
(softmax, the cells' gates) on threads of its own (rnncli.nn.rowblocks); on a machine with as many
cores as BLAS threads, those threads then wait for a core held by a spinning BLAS thread, and two
cores do that work no faster than one. OpenBLAS's shortest spin (2^4 cycles) gives the cores
back at once; waking a sleeping BLAS thread for the next product costs microseconds.

OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when NumPy loads it, so `short_spin` must run
before NumPy is imported; a value already in the environment is kept.
"""

from __future__ import annotations

import os

THREAD_TIMEOUT = "4"  # log2 of the cycles a BLAS thread spins before it sleeps (4 to 30)


def short_spin() -> None:
    """Ask OpenBLAS for its shortest spin, unless the environment already says otherwise."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
