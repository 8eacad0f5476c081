"""The recurrent language model: embedding -> vanilla RNN -> softmax over the vocabulary.

    x_t = W_emb[w_t]                                   (E,)
    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)      (H,)
    y_t = softmax(h_t @ W_hy + b_y)                    (V,)  the distribution of w_{t+1}

The parameters live in one dict, `params`, keyed by the names above; gradients come back in a
dict with the same keys.
"""

from __future__ import annotations

import numpy as np

from rnncli import layers

PARAM_NAMES = ("W_emb", "W_xh", "W_hh", "b_h", "W_hy", "b_y")


def param_shapes(V: int, E: int, H: int) -> dict[str, tuple[int, ...]]:
    return {"W_emb": (V, E), "W_xh": (E, H), "W_hh": (H, H), "b_h": (H,),
            "W_hy": (H, V), "b_y": (V,)}


class RNNLM:
    def __init__(self, params: dict[str, np.ndarray]):
        missing = [n for n in PARAM_NAMES if n not in params]
        if missing:
            raise ValueError(f"missing parameters: {missing}")
        self.params = params
        self.V, self.E = params["W_emb"].shape
        self.H = params["W_hh"].shape[0]

    @classmethod
    def init(cls, V: int, E: int, H: int, seed: int = 0, dtype=np.float32) -> "RNNLM":
        """Random weights as in PyTorch's word_language_model: embedding and output uniform in
        +-0.1, recurrent weights uniform in +-1/sqrt(H), biases zero."""
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(H)
        p = {
            "W_emb": rng.uniform(-0.1, 0.1, (V, E)),
            "W_xh": rng.uniform(-k, k, (E, H)),
            "W_hh": rng.uniform(-k, k, (H, H)),
            "b_h": np.zeros(H),
            "W_hy": rng.uniform(-0.1, 0.1, (H, V)),
            "b_y": np.zeros(V),
        }
        return cls({n: a.astype(dtype) for n, a in p.items()})

    @property
    def dtype(self):
        return self.params["W_hh"].dtype

    def zero_state(self, B: int) -> np.ndarray:
        return np.zeros((B, self.H), dtype=self.dtype)

    # --- training -------------------------------------------------------------------------

    def loss_and_grads(self, inputs: np.ndarray, targets: np.ndarray, h0: np.ndarray,
                       keep: np.ndarray) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """Forward and backward through one truncated-BPTT window.

        Args:
            inputs, targets: (T, B) token ids; targets[t] is the token after inputs[t]
            h0: (B, H) hidden state carried in from the previous window (no gradient flows to it)
            keep: (T, B) 0 where the state resets before step t, else 1; None: no resets
        Returns:
            loss: mean cross-entropy over the T * B targets
            grads: {name: dL/dname}
            h_last: (B, H) the state to carry into the next window
        """
        p = self.params
        T, B = inputs.shape
        x, emb_cache = layers.embedding_forward(inputs, p["W_emb"])  # (T, B, E)
        keep = None if keep is None else keep.astype(self.dtype)
        hs, rnn_cache = layers.rnn_forward(x, h0, keep, p["W_xh"], p["W_hh"],
                                           p["b_h"])  # (T, B, H)
        logits, out_cache = layers.linear_forward(hs.reshape(T * B, self.H),
                                                  p["W_hy"], p["b_y"])  # (T*B, V)
        loss, dlogits = layers.softmax_cross_entropy(logits, targets.reshape(T * B),
                                                     inplace=True)  # logits become dlogits

        dhs, dW_hy, db_y = layers.linear_backward(dlogits, out_cache)
        dx, _, dW_xh, dW_hh, db_h = layers.rnn_backward(dhs.reshape(T, B, self.H), rnn_cache)
        dW_emb = layers.embedding_backward(dx, emb_cache, self.V)
        grads = {"W_emb": dW_emb, "W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h,
                 "W_hy": dW_hy, "b_y": db_y}
        return loss, grads, hs[-1].copy()

    # --- inference ------------------------------------------------------------------------

    def step(self, ids: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One step for a batch of streams: ids (B,), h (B, H) -> the new h (B, H)."""
        p = self.params
        x = p["W_emb"][ids]  # (B, E)
        return np.tanh(x @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])  # (B, H)

    def run(self, inputs: np.ndarray, h0: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
        """The hidden states for a window, without a cache: (T, B) -> (T, B, H)."""
        x = self.params["W_emb"][inputs]  # (T, B, E)
        keep = None if keep is None else keep.astype(self.dtype)
        hs, _ = layers.rnn_forward(x, h0, keep, self.params["W_xh"],
                                   self.params["W_hh"], self.params["b_h"])
        return hs

    def logits(self, h: np.ndarray) -> np.ndarray:
        """Scores of the next token: h (N, H) -> (N, V)."""
        return h @ self.params["W_hy"] + self.params["b_y"]
