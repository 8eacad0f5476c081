"""Run by tests/train/test_mpi.py under `mpiexec -n N`: each variant trained as a whole job
(rnncli.train.job.run) on N ranks into OUT/VARIANT; rank 0 also writes the weights to
OUT/VARIANT.npz.

    mpiexec -n N python tests/train/mpi_train.py OUT CORPUS VARIANT...
"""

import sys
from pathlib import Path

import numpy as np

from rnncli.train import distributed, job

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from test_mpi import trigger_at_once, variant_config

    trigger_at_once()

    out, corpus, variants = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    comm = distributed.world()
    for name in variants:
        saved = job.run(variant_config(name, corpus), out=out / name, comm=comm)
        if comm.rank == 0:
            assert saved.path == (out / name).resolve()
            np.savez(out / f"{name}.npz", **saved.model.params)
