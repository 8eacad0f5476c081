"""A model's own text: its training and validation tokens, read as `rnncli train` read them.

The corpus is prepared by training's own code (rnncli.train.loop.prepare, from the config saved in
the model): the same files, the same held-out lines, the same tokeniser, and a vocabulary that
must come out as the model's. An n-gram model built from these ids is scored on exactly the
tokens the network is.
"""

from __future__ import annotations

import numpy as np

from rnncli.errors import DataError
from rnncli.store.model_folder import SavedModel


def model_texts(saved: SavedModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's training and validation text as id streams: (N,) and (M,) int32 (M may
    be 0: a model trained with nothing held out)."""
    from rnncli.train.loop import prepare

    corpus = prepare(saved.config)
    if corpus.vocab.itos != saved.vocab.itos:
        files = ", ".join(saved.config.data.train)
        raise DataError(f"{files}: the training text is not the one the model was trained on "
                        "(its vocabulary comes out different)")
    return corpus.train_ids, corpus.valid_ids
