"""A model's own text: its training and validation tokens, as `rnncli train` read them.

The same files, the same held-out lines (`held_out` with the training seed, when the config
names no validation file), the same tokeniser and the model's vocabulary: an n-gram model built
from these ids is scored on exactly the tokens the network is.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnncli.data import encode_lines, held_out, iter_lines, read_lines
from rnncli.store import SavedModel
from rnncli.tokenize import tokenize_lines


def model_texts(saved: SavedModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's training and validation text as id streams: (N,) and (M,) int32 (M may
    be 0: a model trained with nothing held out)."""
    d, vocab = saved.config.data, saved.vocab

    def lines() -> Iterator[str]:
        for path in d.train:
            yield from iter_lines(path)

    if d.valid is not None:
        held = None
        valid_lines = read_lines(d.valid)
    else:
        held = held_out(sum(1 for _ in lines()), d.valid_fraction, saved.config.train.seed)
        valid_lines = []

    def kept() -> Iterator[str]:
        for i, line in enumerate(lines()):
            if held is None or not held[i]:
                yield line
            else:
                valid_lines.append(line)

    train_ids = vocab.encode(tokenize_lines(kept(), d.tokenizer, d.lowercase))
    valid_ids = encode_lines(valid_lines, vocab, d.tokenizer, d.lowercase)
    return train_ids, valid_ids
