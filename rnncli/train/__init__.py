"""Training: the loop (loop), SGD and clipping (sgd) and the optimisers with buffers
(optimizers), when to stop (stopping), resumable checkpoints (checkpoint), the samples printed
after each epoch (samples), and data-parallel training (distributed, over mpi).

The package is also the Python API's training call: `rnncli.train(config, on_epoch=...)` is
rnncli.api.train. A package and a function cannot both be the attribute `train` of rnncli (the
import system sets it to the package whenever one of its modules is imported), so the package
itself is made callable.
"""

from __future__ import annotations

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, config, **options):
        """rnncli.api.train: train a model from a config and return it as an rnncli.Model."""
        from rnncli.api import train

        return train(config, **options)


sys.modules[__name__].__class__ = _CallablePackage
