"""One forward pass over a corpus in parallel streams, window by window: the top layer's hidden
states and the targets they predict, for whoever scores them (the network's own softmax, the
continuous cache, dynamic evaluation's update).

The text is cut at line ends into S streams (rnncli.text.corpus.eval_streams), each starting
from a zero state with an <eos> before its first line, so every target token is predicted; the
hidden state follows the model's training policy (reset after each <eos>, or carried).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from rnncli.nn.model import RNNLM
from rnncli.text.corpus import Window, eval_streams, windows


@dataclass
class Pass:
    """One window of the pass, as the scorers read it.

    hs: (T, S, H) the top layer's hidden states, h_t, before the output layer
    targets: (T, S) the token after each input (targets[t] follows inputs[t])
    real: (T, S) True where the target is a real token (streams end at different lengths)
    place: (T, S) each target's index in the corpus order of `n_targets` tokens
    window: the window's inputs and targets, as training reads them
    state0: the state the window began in; keep: (T, S) its reset mask (None: no resets)
    """

    hs: np.ndarray
    targets: np.ndarray
    real: np.ndarray
    place: np.ndarray
    window: Window
    state0: list
    keep: np.ndarray | None


def n_targets(ids: np.ndarray, eos: int, n_streams: int) -> int:
    """How many target tokens a pass over `ids` scores."""
    _, weight = eval_streams(ids, eos, n_streams)
    return int(weight.sum())


def forward_pass(model: RNNLM, ids: np.ndarray, eos: int, reset_at_eos: bool,
                 n_streams: int = 32, bptt: int = 32,
                 after: Callable[[Pass], None] | None = None) -> Iterator[Pass]:
    """The windows of one pass over `ids` (int, <eos> after each line), in order.

    `after(p)` runs once each window has been yielded and read, before the next forward step:
    dynamic evaluation adapts the weights there, so the next window is read by the new ones.
    """
    data, weight = eval_streams(ids, eos, n_streams)  # (L, S), (L - 1, S)
    S = data.shape[1]
    if S == 0:
        return
    # stream s holds the targets from start[s] on, in corpus order
    start = np.concatenate([[0], np.cumsum(weight.sum(axis=0))[:-1]]).astype(np.int64)  # (S,)
    state = model.zero_state(S)
    for i, win in enumerate(windows(data, bptt, eos)):
        T = win.inputs.shape[0]
        keep = (win.prev != eos) if reset_at_eos else None
        hs, new_state = model.run(win.inputs, state, keep)  # (T, S, H)
        real = weight[i * bptt: i * bptt + T] > 0  # (T, S)
        place = start[None, :] + (i * bptt + np.arange(T))[:, None]  # (T, S)
        p = Pass(hs, win.targets, real, place, win, state, keep)
        yield p
        if after is not None:
            after(p)
        state = new_state
