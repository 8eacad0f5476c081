"""The recurrent language model: embedding -> recurrent layer(s) -> softmax over the vocabulary.

    x_t = W_emb[w_t]                                   (E,)  the one-hot word picks a row
    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)      (H,)  the memory (or an LSTM / GRU cell)
    y_t = softmax(h_t @ W_hy + b_y)                    (V,)  the distribution of w_{t+1}

Layers stack: layer k reads the hidden states of layer k - 1. The parameters of layer 0 are named
as in the equations (W_xh, W_hh, b_h); layer k's carry a suffix (W_xh.1, ...). With tied weights
the output matrix is the embedding matrix (W_hy = W_emb.T). Dropout (inverted: kept units are
scaled by 1 / (1 - p)) acts on the embeddings, between layers and before the output layer, in
training only. With `model.softmax: adaptive` the output layer is rnncli.nn.adaptive_softmax's
instead (an exact softmax in a head and tail clusters, parameters W_head, b_head, W_proj.i,
W_tail.i).

A state is one tuple per layer: (h,) for rnn and gru, (h, c) for lstm, each (B, H).
"""

from __future__ import annotations

import numpy as np

from rnncli.nn import adaptive_softmax, cells, layers


def layer_name(base: str, k: int) -> str:
    return base if k == 0 else f"{base}.{k}"


def param_shapes(V: int, E: int, H: int, cell: str = "rnn", n_layers: int = 1,
                 tie_weights: bool = False,
                 softmax: adaptive_softmax.Clusters | None = None) -> dict[str, tuple[int, ...]]:
    shapes = {"W_emb": (V, E)}
    for k in range(n_layers):
        for base, shape in cells.shapes(cell, E if k == 0 else H, H).items():
            shapes[layer_name(base, k)] = shape
    if softmax is not None:  # the adaptive output layer instead of W_hy, b_y
        return shapes | adaptive_softmax.shapes(softmax, H)
    if not tie_weights:
        shapes["W_hy"] = (H, V)
    shapes["b_y"] = (V,)
    return shapes


def output_clusters(m, V: int) -> adaptive_softmax.Clusters | None:
    """The adaptive softmax's clusters for a ModelConfig `m` and V words; None for the full
    softmax. ValueError when the cutoffs do not fit the vocabulary."""
    if m.softmax != "adaptive":
        return None
    return adaptive_softmax.clusters(V, m.hidden, m.cutoffs, m.div_value)


def dropout_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float,
                 dtype) -> np.ndarray:
    """Inverted dropout: 0 with probability p, else 1 / (1 - p)."""
    mask = (rng.random(shape, dtype=np.float32) >= p).astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return mask


class RNNLM:
    """The language model: its parameters by name and the forward / backward passes over them.

    Args:
        params: name -> array: W_emb (V, E); per layer k W_xh, W_hh and the cell's biases
            (named by model.layer_name); the output layer's W_hy (H, V) and b_y (V,) (W_hy
            absent with tied weights) or the adaptive softmax's W_head, b_head, W_proj.i,
            W_tail.i
        cell: a name in rnncli.nn.cells.CELLS
        n_layers: stacked recurrent layers
        tie_weights: the output matrix is W_emb.T
        dropout: the inverted-dropout rate in training (0: none)
        softmax: the adaptive softmax's clusters, or None for the full softmax
    Attributes:
        V, E, H: the vocabulary, embedding and hidden sizes, read off the parameters
    Training calls loss_and_grads on (T, B) windows; inference calls step / run for hidden
    states (T, B, H) and logits / log_probs for the next token's scores (N, V).
    """
    def __init__(self, params: dict[str, np.ndarray], cell: str = "rnn", n_layers: int = 1,
                 tie_weights: bool = False, dropout: float = 0.0,
                 softmax: adaptive_softmax.Clusters | None = None):
        self.params = params
        self.softmax = softmax  # None: the full softmax
        self.cell = cells.CELLS[cell]
        self.n_layers = n_layers
        self.tie_weights = tie_weights
        self.dropout = dropout
        self.V, self.E = params["W_emb"].shape
        self.H = params["W_hh"].shape[0]
        expected = param_shapes(self.V, self.E, self.H, cell, n_layers, tie_weights, softmax)
        if set(params) != set(expected):
            raise ValueError(f"parameters {sorted(params)} do not fit, expected {sorted(expected)}")

    @classmethod
    def init(cls, V: int, E: int, H: int, seed: int = 0, dtype=np.float32, cell: str = "rnn",
             n_layers: int = 1, tie_weights: bool = False, dropout: float = 0.0,
             init: float | None = None, forget_bias: float | None = None,
             softmax: adaptive_softmax.Clusters | None = None) -> RNNLM:
        """Random weights. With `init`, everything is uniform in +-init (as torch_rnnlm.py);
        otherwise as PyTorch's word_language_model: embedding and output uniform in +-0.1,
        recurrent weights uniform in +-1/sqrt(H), biases zero. `forget_bias` sets the LSTM's
        forget-gate bias."""
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in param_shapes(V, E, H, cell, n_layers, tie_weights, softmax).items():
            base = name.split(".")[0]
            if init is not None:
                r = init
            elif base in ("W_emb", "W_hy", "W_head", "W_tail"):
                r = 0.1
            elif base.startswith("W_"):
                r = 1.0 / np.sqrt(H)
            else:
                r = 0.0
            params[name] = rng.uniform(-r, r, shape) if r else np.zeros(shape)
        if cell == "lstm" and forget_bias is not None:
            for k in range(n_layers):
                params[layer_name("b_h", k)][H: 2 * H] = forget_bias  # gate order i, f, g, o
        params = {n: a.astype(dtype) for n, a in params.items()}
        return cls(params, cell, n_layers, tie_weights, dropout, softmax)

    @classmethod
    def from_config(cls, m, V: int, seed: int = 0, params=None) -> RNNLM:
        """A model for a ModelConfig `m`: fresh weights, or the given `params`."""
        softmax = output_clusters(m, V)
        if params is not None:
            return cls(params, m.cell, m.layers, m.tie_weights, m.dropout, softmax)
        return cls.init(V, m.embedding, m.hidden, seed=seed, cell=m.cell, n_layers=m.layers,
                        tie_weights=m.tie_weights, dropout=m.dropout, init=m.init,
                        forget_bias=m.forget_bias, softmax=softmax)

    @property
    def dtype(self):
        return self.params["W_emb"].dtype

    @property
    def W_hy(self) -> np.ndarray:
        return self.params["W_emb"].T if self.tie_weights else self.params["W_hy"]

    def layer(self, k: int) -> dict[str, np.ndarray]:
        """Layer k's parameters under their base names (W_xh, W_hh, ...)."""
        return {base: self.params[layer_name(base, k)]
                for base in cells.shapes(self.cell.name, 1, 1)}

    def zero_state(self, B: int) -> list[tuple[np.ndarray, ...]]:
        return [tuple(np.zeros((B, self.H), dtype=self.dtype) for _ in range(self.cell.n_states))
                for _ in range(self.n_layers)]

    # --- training -------------------------------------------------------------------------

    def loss_and_grads(self, inputs, targets, state0, keep, rng=None):
        """Forward and backward through one truncated-BPTT window.

        Args:
            inputs, targets: (T, B) token ids; targets[t] is the token after inputs[t]
            state0: the state carried in from the previous window (no gradient flows to it)
            keep: (T, B) 0 where the state resets before step t, else 1; None: no resets
            rng: np.random.Generator for the dropout masks (None: no dropout)
        Returns:
            loss: mean cross-entropy over the T * B targets
            grads: {name: dL/dname} (W_emb's as a layers.RowGrad unless the weights are tied)
            state: the state to carry into the next window
        """
        p = self.params
        T, B = inputs.shape
        keep = None if keep is None else keep.astype(self.dtype)
        drop = self.dropout > 0 and rng is not None

        # 1) forward: embedding, the layers, the output
        x, _ = layers.embedding_forward(inputs, p["W_emb"])  # (T, B, E)
        masks = []
        if drop:
            masks.append(dropout_mask(rng, x.shape, self.dropout, self.dtype))
            x = x * masks[-1]
        caches, state = [], []
        for k in range(self.n_layers):
            x, st, cache = self.cell.forward(x, state0[k], keep, self.layer(k))  # (T, B, H)
            caches.append(cache)
            state.append(st)
            if drop:
                masks.append(dropout_mask(rng, x.shape, self.dropout, self.dtype))
                x = x * masks[-1]
        grads = {}
        if self.softmax is not None:  # the adaptive softmax: forward and backward at once
            nll, out_cache = adaptive_softmax.adaptive_forward(x.reshape(T * B, self.H),
                                                       targets.reshape(T * B), p, self.softmax)
            loss = float(nll.mean())
            dh, out_grads = adaptive_softmax.adaptive_backward(1.0 / (T * B), out_cache)
            grads.update(out_grads)
        else:
            logits, out_cache = layers.linear_forward(x.reshape(T * B, self.H), self.W_hy,
                                                      p["b_y"])  # (T*B, V)
            loss, dlogits = layers.softmax_cross_entropy(logits, targets.reshape(T * B),
                                                         inplace=True)  # logits -> dlogits
            # 2) backward, in reverse
            dh, dW_hy, grads["b_y"] = layers.linear_backward(dlogits, out_cache)
        dx = dh.reshape(T, B, self.H)
        for k in reversed(range(self.n_layers)):
            if drop:
                dx *= masks[k + 1]  # through the dropout after layer k
            dx, layer_grads = self.cell.backward(dx, caches[k])
            for base, g in layer_grads.items():
                grads[layer_name(base, k)] = g
        if drop:
            dx *= masks[0]
        dW_emb = layers.embedding_backward(dx, inputs, self.V)
        if self.softmax is not None:
            grads["W_emb"] = dW_emb
        elif self.tie_weights:  # W_emb is used twice: as the embedding and as W_hy.T
            dense = np.ascontiguousarray(dW_hy.T)  # (V, E)
            dense[dW_emb.rows] += dW_emb.values
            grads["W_emb"] = dense
        else:
            grads["W_emb"] = dW_emb
            grads["W_hy"] = dW_hy
        return loss, grads, state

    # --- inference ------------------------------------------------------------------------

    def step(self, ids: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """One step for a batch of streams: ids (B,) -> the top layer's h (B, H), new state."""
        x = self.params["W_emb"][ids]  # (B, E)
        new = []
        for k in range(self.n_layers):
            st = self.cell.step(x, state[k], self.layer(k))
            new.append(st)
            x = st[0]
        return x, new

    def run(self, inputs: np.ndarray, state0: list, keep) -> tuple[np.ndarray, list]:
        """The top layer's hidden states for a window, no dropout: (T, B) -> (T, B, H), state."""
        keep = None if keep is None else keep.astype(self.dtype)
        x = self.params["W_emb"][inputs]  # (T, B, E)
        state = []
        for k in range(self.n_layers):
            x, st, _ = self.cell.forward(x, state0[k], keep, self.layer(k))
            state.append(st)
        return x, state

    def logits(self, h: np.ndarray) -> np.ndarray:
        """Scores of the next token (the full softmax's): h (N, H) -> (N, V)."""
        return h @ self.W_hy + self.params["b_y"]

    def log_probs(self, h: np.ndarray) -> np.ndarray:
        """The next token's whole distribution, log p: h (N, H) -> (N, V)."""
        if self.softmax is not None:
            return adaptive_softmax.log_prob(h, self.params, self.softmax)
        return layers.log_softmax(self.logits(h))

    def target_log_prob_grad(self, h: np.ndarray,
                             targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log p(target) of each row and its gradient with respect to h:
        h (N, H), targets (N,) -> logp (N,), dlogp/dh (N, H)."""
        N = h.shape[0]
        if self.softmax is not None:
            nll, cache = adaptive_softmax.adaptive_forward(h, targets, self.params, self.softmax)
            dh, _ = adaptive_softmax.adaptive_backward(-1.0, cache)  # d(-nll)/dh
            return -nll, dh
        logp = layers.log_softmax(self.logits(h))  # (N, V)
        dlogits = -np.exp(logp)  # d log p_y / dlogits = onehot(y) - softmax(logits)
        dlogits[np.arange(N), targets] += 1.0
        return logp[np.arange(N), targets], dlogits @ self.W_hy.T  # backprop through W_hy
