"""The recurrent cells behind one interface, so the model can stack any of them.

Each cell module (rnn.py, lstm.py, gru.py) has the same shape: the equations, then
`<cell>_step_forward(xw_t, state, W_hh, [b_hh,] out=None) -> (state, cache)`,
`<cell>_step_backward(dstate, cache) -> (dxw, dstate_prev, dhw)`,
`<cell>_forward(x, state0, keep, *params) -> (hs, cache)` and
`<cell>_backward(dhs, cache) -> (dx, dstate0, grads)`, with its parameters' names (PARAMS), its
gates per hidden unit (GATES) and the arrays in its state (STATES: (h,) or (h, c)).
"""

from __future__ import annotations

from types import ModuleType

from rnncli.nn import gru, lstm, rnn
from rnncli.nn.cellparts import input_share


class Cell:
    """One cell module, called with a layer's parameters by name."""

    def __init__(self, name: str, module: ModuleType):
        self.name, self.gates, self.n_states = name, module.GATES, module.STATES
        self.params = module.PARAMS  # W_xh, W_hh, the input's bias, [the recurrent bias]
        self._forward = getattr(module, f"{name}_forward")
        self._backward = getattr(module, f"{name}_backward")
        self._step = getattr(module, f"{name}_step_forward")

    def forward(self, x, state, keep, p):
        """x (T, B, In), state, keep (T, B) or None -> hs (T, B, H), the last state, cache."""
        hs, cache = self._forward(x, state, keep, *(p[n] for n in self.params))
        return hs, cache["state"], cache

    def backward(self, dhs, cache):
        """dhs (T, B, H) -> dx (T, B, In), {name: gradient} (none for the carried state)."""
        dx, _, grads = self._backward(dhs, cache)
        return dx, grads

    def step(self, x_t, state, p):
        """Inference: one step, the training step's code. x_t (B, In), state -> the new state."""
        W_xh, W_hh, b, *recurrent_bias = (p[n] for n in self.params)
        xw_t = input_share(x_t[None], W_xh, b)[0]  # (B, G) a window of one step
        new, _ = self._step(xw_t, state, W_hh, *recurrent_bias)
        return new


# The registry: model.cell names one of these (the config's choices are its keys). A new cell is
# one module shaped as this file's docstring says, and one line here.
CELLS = {cell.name: cell for cell in (
    Cell("rnn", rnn),
    Cell("lstm", lstm),
    Cell("gru", gru),
)}


def shapes(cell: str, In: int, H: int) -> dict[str, tuple[int, ...]]:
    """The shapes of one layer's parameters: input In, hidden H."""
    c = CELLS[cell]
    G = c.gates * H
    W_xh, W_hh, *biases = c.params
    return {W_xh: (In, G), W_hh: (H, G), **{b: (G,) for b in biases}}
