"""Looking inside: why the model predicted a word, and what its memory held along the way.

Explaining. The prediction y after the prompt w_1 .. w_T is the model's log p(y | w_1 .. w_T).
Four measures per prompt word, the first the one to read:

    score      how much log p(y) falls when word t is replaced by what the prompt allows there:
               the model's 20 likeliest guesses for w_t (and w_t itself), each weighted by
               p(guess | w_<t) * p(w_t+1 .. w_T | w_<t, guess), so a guess after which the rest
               of the prompt would make no sense counts for nothing; p(y) is averaged under
               those weights. Replacing the dish by another dish changes the answer; replacing
               "That" by "So" in "That is why" would not fit the words after it, so "That" is
               not blamed for what the confusion does. The word a person should read first.
    drop       the same replacement with the guesses weighted by p(guess | w_<t) alone: it also
               counts the confusion of a prompt that no longer reads right.
    grad_norm  || d log p(y) / d x_t || at the real prompt, x_t = W_emb[w_t]: backpropagating the
               one number log p(y) through time, exactly as training backpropagates its loss
               (the same layers' backward passes and caches). It usually fades the further back
               t is: the lesson's view of the vanishing gradient that the hidden state has to
               overcome, not a ranking of the words.
    share      gradient x input, integrated (Sundararajan et al., 2017, "Axiomatic Attribution
               for Deep Networks"): (x_t - b_t) . mean over a in (0, 1] of d log p(y) / d x_t,
               taken at x_t = b_t + a (x_t - b_t) with the other words kept. The baseline b_t is
               the embedding the model expected at t (averaged under p(w_t | w_<t)), so the
               share is log p(y) minus log p(y) with x_t moved there (the fundamental theorem of
               calculus). Those points are no word at all, and a small network can react wildly
               to them, which is why the score is read first.

Tracing. The top layer's hidden state h_t after each prompt token, its norm, and the token the
model would predict from it: the memory, step by step.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np


@dataclass
class Attribution:
    """How much one prompt token counted for the explained next token (rnncli.infer.explain's
    four measures; log p in nats)."""
    word: str
    score: float  # log p lost when the word is replaced by what the prompt allows there
    grad_norm: float  # the plain gradient's L2 norm: the lesson's view
    drop: float  # log p lost when the word is replaced by the model's guesses for it
    share: float  # integrated gradient x input

    def to_dict(self) -> dict:
        return {"word": self.word, "score": self.score, "grad_norm": self.grad_norm,
                "drop": self.drop, "share": self.share}


@dataclass
class TraceStep:
    """The hidden state after one prompt token, and what the model expects next from it."""
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
LOGIT_BUDGET = 1 << 22  # (row, word) log-probabilities at a time
ALTERNATIVES = 20  # the drop replaces a word by this many of the model's guesses for it


def drain(steps: Generator):
    """Run a generator of slices to the end: its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


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


def counterfactuals(model, ids: np.ndarray, target: int,
                    q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """counterfactual_steps run to the end: (drop, score)."""
    return drain(counterfactual_steps(model, ids, target, q))


def counterfactual_steps(model, ids: np.ndarray, target: int, q: np.ndarray,
                         cells: int = CELL_BUDGET) -> Generator[None, None, tuple]:
    """How much log p(target | prompt) drops when word t is replaced, two ways. ids (T,).

    The replacements are the model's ALTERNATIVES likeliest guesses q[t] for word t (the real
    word too, if among them). `drop` weighs them by q[t] alone, renormalised. `score` weighs
    each guess a by what the whole prompt says word t could have been: q[t](a) times
    p(w_t+1 .. w_T | w_<t, a), the probability of the rest of the prompt after it (the real word
    is always a candidate). A guess after which the rest of the prompt would make no sense
    ("So is why my ...") gets no weight, so a word scores high only when a sensible other word
    in its place would change the prediction: the dish, not the grammar around it.

    A generator that yields after each batch of `cells` (step, row) cells (a server answers
    other requests in between) and returns:
        drop: (T,) log p(target) minus log of its q-weighted mean over the replacements
        score: (T,) the same with the weights that the rest of the prompt allows
    """
    T, V = len(ids), q.shape[1]
    K = min(ALTERNATIVES, V)
    alt = np.argsort(-q, axis=1, kind="stable")[:, :K]  # (T, K) each step's likeliest guesses
    log_q = np.log(np.take_along_axis(q, alt, axis=1))  # (T, K)
    keep = np.ones((T, 1), dtype=bool)
    keep[0] = False

    def run(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, R) prompts -> log p(target) (R,), and log p(inputs[j + 1] | inputs[:j + 1])
        for j < T - 1, (T - 1, R); one step's logits at a time, to bound the memory."""
        R = inputs.shape[1]
        hs, _ = model.run(inputs, model.zero_state(R), np.repeat(keep, R, axis=1))  # (T, R, H)
        lp_next = np.empty((T - 1, R))
        for j in range(T - 1):
            lp_next[j] = model.log_probs(hs[j])[np.arange(R), inputs[j + 1]]
        return model.log_probs(hs[-1])[:, target], lp_next

    swaps = [(t, k) for t in range(T) for k in range(K)]  # row t * K + k: w_t -> alt[t, k]
    log_p_alt = np.empty(len(swaps))  # log p(target) with the swap
    log_rest_alt = np.empty(len(swaps))  # log p(w_t+1 .. w_T) with the swap
    rows_per_batch = max(1, min(cells // T, LOGIT_BUDGET // V))
    for i in range(0, len(swaps), rows_per_batch):
        yield
        batch = swaps[i: i + rows_per_batch]
        inputs = np.repeat(ids[:, None], len(batch), axis=1)  # (T, R)
        for r, (t, k) in enumerate(batch):
            inputs[t, r] = alt[t, k]
        log_p_alt[i: i + len(batch)], lp_next = run(inputs)
        after = np.arange(T - 1)[:, None] >= np.array([t for t, _ in batch])[None]  # (T-1, R)
        log_rest_alt[i: i + len(batch)] = np.where(after, lp_next, 0.0).sum(axis=0)
    log_p_alt, log_rest_alt = log_p_alt.reshape(T, K), log_rest_alt.reshape(T, K)
    log_p, lp_next = run(ids[:, None])
    log_p = log_p[0]
    log_rest = np.r_[np.cumsum(lp_next[::-1, 0])[::-1], 0.0]  # (T,) after each real word

    # 1) drop: the guesses weighted by q alone
    log_w = log_q - np.logaddexp.reduce(log_q, axis=1, keepdims=True)
    drop = log_p - np.logaddexp.reduce(log_w + log_p_alt, axis=1)
    # 2) score: weighted by q(a) p(rest | a), the real word always among the candidates
    log_post = log_q + log_rest_alt  # (T, K)
    real_extra = np.where((alt == ids[:, None]).any(axis=1), -np.inf,
                          np.log(q[np.arange(T), ids]) + log_rest)  # (T,) when not a guess
    norm = np.logaddexp(np.logaddexp.reduce(log_post, axis=1), real_extra)
    mean = np.logaddexp(np.logaddexp.reduce(log_post + log_p_alt, axis=1), real_extra + log_p)
    score = log_p - (mean - norm)
    return drop, score


def explain(model, ids: np.ndarray, target: int, eos: int,
            itos: list[str]) -> list[Attribution]:
    """Each prompt token's part in log p(target | prompt), ids (T,): the score (the drop when
    the word is replaced by what the prompt allows there), the plain gradient's norm, the drop
    under the model's guesses alone, and the integrated gradient x input share (see the
    module's docstring)."""
    return drain(explain_steps(model, ids, target, eos, itos))


def explain_steps(model, ids: np.ndarray, target: int, eos: int, itos: list[str],
                  cells: int = CELL_BUDGET) -> Generator[None, None, list[Attribution]]:
    """explain in slices: a generator that yields after each batch of at most `cells`
    (step, row) cells of paths or replacements, and returns the attributions. A server runs
    other requests between the slices; the numbers are explain's whatever the slicing."""
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
    rows_per_batch = max(1, cells // T)
    for i in range(0, len(paths), rows_per_batch):
        yield
        batch = paths[i: i + rows_per_batch]
        R = len(batch)
        X = np.repeat(x[:, None], R, axis=1)  # (T, R, E)
        for r, (t, j) in enumerate(batch):
            X[t, r] = base[t] + alphas[j] * delta[t]
        _, dX = log_prob_gradients(model, X, np.repeat(keep[:, None], R, axis=1),
                                   np.full(R, target))
        for r, (t, _) in enumerate(batch):
            mean_grad[t] += dX[t, r] / M
    share = (mean_grad * delta).sum(axis=1)  # (T,) integrated gradient x (input - baseline)

    # 3) without gradients: replace the word by the model's guesses for it
    drop, score = yield from counterfactual_steps(model, ids, target, q, cells)  # (T,), (T,)
    return [Attribution(itos[ids[t]], float(score[t]), float(grad_norm[t]), float(drop[t]),
                        float(share[t])) for t in range(T)]


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
