"""Dropout masks drawn per stream: a stream's masks depend on the seed, the stream's index, the
epoch and the window, never on which other streams share its batch (or its process).

Training cuts the corpus into batch_size streams, the columns of each window. The masks of
column b at window i of epoch e come from a counter-based generator (Philox) keyed by
(seed, b) with its counter started at (e, i): any process holding stream b draws the same masks
for it, whether it holds all the streams or a few of them, and a resumed run draws the same masks
as one never stopped, with no generator state to save.
"""

from __future__ import annotations

import numpy as np


class StreamMasks:
    """A stand-in for np.random.Generator in `RNNLM.loss_and_grads`: `random((T, B, D))` fills
    column j from stream `streams[j]`'s own generator, one (T, D) draw per call.

    Args:
        seed: the training seed
        streams: the global indices of the streams this process holds, in column order
    """

    def __init__(self, seed: int, streams: range):
        self.seed = seed
        self.streams = streams
        self._keys: list[np.ndarray] | None = None  # one Philox key per stream, made on first use
        self.at(1, 0)

    def at(self, epoch: int, window: int) -> StreamMasks:
        """Draw the masks of window `window` (0-based) of epoch `epoch` from now on."""
        self.epoch, self.window = epoch, window
        self._generators: list[np.random.Generator] | None = None
        return self

    def _stream_generators(self) -> list[np.random.Generator]:
        if self._keys is None:
            self._keys = [np.random.SeedSequence([self.seed, 1, b]).generate_state(2, np.uint64)
                          for b in self.streams]
        counter = [0, 0, self.window, self.epoch]  # low words left for the draws themselves
        return [np.random.Generator(np.random.Philox(key=k, counter=counter))
                for k in self._keys]

    def random(self, shape: tuple[int, int, int], dtype=np.float64) -> np.ndarray:
        """Uniform [0, 1) numbers, (T, B, D), column j drawn by stream streams[j]."""
        T, B, D = shape
        if B != len(self.streams):
            raise ValueError(f"{B} columns, but masks for {len(self.streams)} streams")
        if self._generators is None:
            self._generators = self._stream_generators()
        out = np.empty(shape, dtype=dtype)  # (T, B, D)
        for j, g in enumerate(self._generators):
            out[:, j, :] = g.random((T, D), dtype=dtype)  # (T, D) the next draw of stream j
        return out
