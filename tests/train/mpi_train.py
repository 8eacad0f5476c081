"""Run by tests/test_mpi.py under `mpiexec -n N`: train each variant with the library on N
ranks; rank 0 writes the weights to OUT/VARIANT.npz.

    mpiexec -n N python tests/train/mpi_train.py OUT CORPUS VARIANT...
"""

import sys
from pathlib import Path

import numpy as np

from rnncli.train import distributed
from rnncli.train.loop import train

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from test_mpi import variant_config

    out, corpus, variants = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    comm = distributed.world()
    for name in variants:
        saved = train(variant_config(name, corpus), comm=comm)
        if comm.rank == 0:
            np.savez(out / f"{name}.npz", **saved.model.params)
