"""Looking inside: why the model predicted a word, and what its memory held along the way.

Explaining. The prediction y after the prompt w_1 .. w_T is the model's log p(y | w_1 .. w_T).
Backpropagating that one number through time, exactly as training backpropagates its loss
(the same layers' backward passes and caches), gives its gradient with respect to every input
x_t = W_emb[w_t]. Three measures per prompt word:

    score      gradient x input, integrated (Sundararajan et al., 2017, "Axiomatic Attribution
               for Deep Networks"): (x_t - b_t) . mean over a in (0, 1] of
               d log p(y) / d x_t, taken at x_t = b_t + a (x_t - b_t) with the other words kept.
               The baseline b_t is the word the model expected at t (the embeddings averaged
               under its own prediction p(w_t | w_<t)), so the score is the evidence word t
               brought that its context had not already given: by the fundamental theorem of
               calculus it is log p(y) minus log p(y) with x_t moved to that expected embedding.
               A predictable word ("favourite" after "My") scores about 0.
    grad_norm  || d log p(y) / d x_t || at the real prompt: how sensitive the prediction is to
               word t right now. It usually fades the further back t is: the vanishing gradient
               that the hidden state has to overcome.
    drop       the same question asked without gradients: how much log p(y) falls when word t
               is replaced by the words the model expected there (its 20 likeliest guesses,
               p(y) averaged under their probabilities). Real words, not an averaged embedding
               that is no word at all, so the answer is sturdier; it costs 20 forward passes
               per word instead of 16 backward ones.

Plain gradient x input (the gradient at the real input only) is what the score refines: once
the model is sure (p(y) near 1), softmax and tanh saturate, the local gradient is nearly flat
and ranks words by noise. Integrating along the path avoids that.

Tracing. The top layer's hidden state h_t after each prompt token, its norm, and the token the
model would predict from it: the memory, step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Attribution:
    word: str
    score: float  # integrated gradient x input
    grad_norm: float  # the plain gradient's L2 norm
    drop: float  # log p lost when the word is replaced by the model's guesses for it

    def to_dict(self) -> dict:
        return {"word": self.word, "score": self.score, "grad_norm": self.grad_norm,
                "drop": self.drop}


@dataclass
class TraceStep:
    token: str
    norm: float  # ||h_t||
    guess: str  # the likeliest next token from h_t
    prob: float  # its probability
    h: np.ndarray  # (H,) the top layer's hidden state after this token

    def to_dict(self) -> dict:
        return {"token": self.token, "norm": self.norm, "guess": self.guess, "prob": self.prob,
                "h": [round(float(v), 4) for v in self.h]}


PATH_STEPS = 16  # points on each word's path from its baseline (the midpoint rule)
CELL_BUDGET = 1 << 16  # (step, row) cells per batch of paths: bounds the caches' memory
ALTERNATIVES = 20  # the drop replaces a word by this many of the model's guesses for it


def log_prob_gradients(model, x: np.ndarray, keep: np.ndarray,
                       targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log p(target_b | inputs of row b) and its gradient with respect to every input.

    Args:
        x: (T, B, E) the embedded inputs; keep: (T, B) 0 where the state starts afresh
        targets: (B,) the token each row's prediction after step T is about
    Returns:
        logp: (B,) log p(target_b); dx: (T, B, E) d logp_b / d x[t, b]
    """
    T, B, _ = x.shape
    keep_f = keep.astype(model.dtype)

    # 1) forward through the layers, keeping the caches
    h, caches = x, []
    for k, st in enumerate(model.zero_state(B)):
        h, _, cache = model.cell.forward(h, st, keep_f, model.layer(k))  # (T, B, H)
        caches.append(cache)
    # 2) log p(target) after each row's last step, and its gradient there (the output layer's
    #    backward); the other steps' outputs are not differentiated
    logp, dh = model.target_log_prob_grad(h[-1], targets)  # (B,), (B, H)
    dhs = np.zeros_like(h)  # (T, B, H)
    dhs[-1] = dh

    # 3) back through time and down the layers to the inputs
    for k in reversed(range(model.n_layers)):
        dhs, _ = model.cell.backward(dhs, caches[k])  # (T, B, in) the layer's input gradient
    return logp, dhs


def expected_words(model, ids: np.ndarray, eos: int) -> np.ndarray:
    """What the model expects at each step of a prompt: p(w_t | w_<t), and for the first word
    p(first word of a line). ids (T,) -> (T, V)."""
    keep = np.ones((len(ids), 1), dtype=bool)
    keep[:2] = False  # <eos> read from h = 0, then the prompt starts afresh from h = 0
    hs, _ = model.run(np.r_[eos, ids[:-1]][:, None], model.zero_state(1), keep)  # (T, 1, H)
    return np.exp(model.log_probs(hs[:, 0]))  # (T, V) the next-word guesses


def expected_inputs(model, ids: np.ndarray, eos: int) -> np.ndarray:
    """The embedding the model expects at each step: W_emb averaged under expected_words.
    ids (T,) -> (T, E)."""
    return expected_words(model, ids, eos) @ model.params["W_emb"]


def replacement_drop(model, ids: np.ndarray, target: int, q: np.ndarray) -> np.ndarray:
    """How much log p(target | prompt) drops when word t is replaced by what the model expected
    there: its ALTERNATIVES likeliest guesses q[t] (the real word too, if among them), the
    probability of the target averaged under their renormalised weights. ids (T,) -> (T,)."""
    T = len(ids)
    K = min(ALTERNATIVES, q.shape[1])
    alt = np.argsort(-q, axis=1, kind="stable")[:, :K]  # (T, K) each step's likeliest guesses
    log_w = np.log(np.take_along_axis(q, alt, axis=1))  # (T, K)
    log_w -= np.logaddexp.reduce(log_w, axis=1, keepdims=True)  # renormalised
    keep = np.ones((T, 1), dtype=bool)
    keep[0] = False

    def log_p(inputs: np.ndarray) -> np.ndarray:  # (T, R) prompts -> (R,) log p(target)
        hs, _ = model.run(inputs, model.zero_state(inputs.shape[1]),
                          np.repeat(keep, inputs.shape[1], axis=1))
        return model.log_probs(hs[-1])[:, target]

    swaps = [(t, k) for t in range(T) for k in range(K)]  # row t * K + k: w_t -> alt[t, k]
    log_p_alt = np.empty(len(swaps))
    rows_per_batch = max(1, CELL_BUDGET // T)
    for i in range(0, len(swaps), rows_per_batch):
        batch = swaps[i: i + rows_per_batch]
        inputs = np.repeat(ids[:, None], len(batch), axis=1)  # (T, R)
        for r, (t, k) in enumerate(batch):
            inputs[t, r] = alt[t, k]
        log_p_alt[i: i + len(batch)] = log_p(inputs)
    expected = np.logaddexp.reduce(log_w + log_p_alt.reshape(T, K), axis=1)  # (T,)
    return log_p(ids[:, None])[0] - expected


def explain(model, ids: np.ndarray, target: int, eos: int,
            itos: list[str]) -> list[Attribution]:
    """Each prompt token's share in log p(target | prompt), ids (T,): integrated gradient x
    input from its expected word, the plain gradient's norm, and the drop when the word is
    replaced (see the module's docstring)."""
    T = len(ids)
    W_emb = model.params["W_emb"]
    x = W_emb[ids]  # (T, E)
    keep = np.ones(T, dtype=bool)
    keep[0] = False  # the prompt starts from h = 0

    # 1) the plain gradient at the prompt itself
    _, dx = log_prob_gradients(model, x[:, None], keep[:, None], np.array([target]))
    grad_norm = np.linalg.norm(dx[:, 0].astype(np.float64), axis=1)  # (T,)

    # 2) each word's path from its expected word b_t to x_t, the other words kept:
    #    row t * M + j has x_t replaced by b_t + a_j (x_t - b_t), a_j = (j + 1/2) / M
    M = PATH_STEPS
    q = expected_words(model, ids, eos)  # (T, V)
    base = (q @ W_emb).astype(x.dtype)  # (T, E) the expected embedding at each step
    delta = x - base  # (T, E)
    alphas = ((np.arange(M) + 0.5) / M).astype(x.dtype)  # (M,)
    paths = [(t, j) for t in range(T) for j in range(M)]
    mean_grad = np.zeros_like(x, dtype=np.float64)  # (T, E) mean over the path of d/dx_t
    rows_per_batch = max(1, CELL_BUDGET // T)
    for i in range(0, len(paths), rows_per_batch):
        batch = paths[i: i + rows_per_batch]
        R = len(batch)
        X = np.repeat(x[:, None], R, axis=1)  # (T, R, E)
        for r, (t, j) in enumerate(batch):
            X[t, r] = base[t] + alphas[j] * delta[t]
        _, dX = log_prob_gradients(model, X, np.repeat(keep[:, None], R, axis=1),
                                   np.full(R, target))
        for r, (t, _) in enumerate(batch):
            mean_grad[t] += dX[t, r] / M
    score = (mean_grad * delta).sum(axis=1)  # (T,) integrated gradient x (input - baseline)

    # 3) the check without gradients: replace the word by the model's guesses for it
    drop = replacement_drop(model, ids, target, q)  # (T,)
    return [Attribution(itos[ids[t]], float(score[t]), float(grad_norm[t]), float(drop[t]))
            for t in range(T)]


def trace(model, hs: np.ndarray, inputs: np.ndarray, itos: list[str]) -> list[list[TraceStep]]:
    """Per prompt, per step: the top layer's h_t (hs: (T, B, H)), its norm and the next-token
    guess it makes."""
    T, B, H = hs.shape
    logp = model.log_probs(hs.reshape(T * B, H)).reshape(T, B, -1)
    guess = logp.argmax(axis=2)  # (T, B)
    norms = np.linalg.norm(hs, axis=2)  # (T, B)
    return [[TraceStep(itos[inputs[t, b]], float(norms[t, b]), itos[guess[t, b]],
                       float(np.exp(logp[t, b, guess[t, b]])), hs[t, b].copy())
             for t in range(T)] for b in range(B)]
