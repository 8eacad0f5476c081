"""Counting n-grams in NumPy: every order from one sort per order, no loop over n-grams.

The token stream (every line ends with <eos>) gets a sentence-start token `<s>` (id V, one past
the vocabulary) before each line, as KenLM's lmplz reads a line as `<s> w_1 .. w_n </s>`; our
<eos> plays `</s>`. An n-gram is a window of the padded stream with no `<s>` after its first
place, so none reaches across a line end.

An n-gram of order n > 1 is keyed by one integer, `ctx * B + w` (B = V + 1): the index of its
first n - 1 words in the sorted table of order n - 1, and its last word. A table's sorted keys
are therefore in the lexicographic order of the word sequences, and a lookup is one
searchsorted. Order 1 is dense: the n-gram id of a word is the word.

Kneser-Ney counts (Chen & Goodman 1998, section 3.5, as lmplz adjusts them): the highest order
keeps raw counts; a lower-order n-gram counts the distinct words seen before it (its
continuation count), except one that starts with `<s>`, which nothing can precede: it keeps
its raw count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Order:
    """The n-grams of one order, in key order (M of them)."""
    keys: np.ndarray  # (M,) int64 ctx * B + w (order 1: the word ids 0..V, dense)
    ctx: np.ndarray  # (M,) int64 id of the first n - 1 words in the order below (order 1: 0)
    suffix: np.ndarray  # (M,) int64 id of the last n - 1 words in the order below (order 1: 0)
    count: np.ndarray  # (M,) int64 adjusted count a: raw, or continuation (see above)


def pad_lines(ids: np.ndarray, eos: int, bos: int) -> np.ndarray:
    """`<s>` before every line of a stream of ids: (N,) -> (N + lines,) int64."""
    ids = np.asarray(ids, dtype=np.int64)
    starts = np.flatnonzero(ids == eos) + 1  # the token after each <eos> starts a line
    starts = np.concatenate([[0], starts[starts < len(ids)]])
    return np.insert(ids, starts, bos)  # (N + lines,)


def count_ngrams(ids: np.ndarray, V: int, eos: int, order: int) -> list[Order]:
    """Adjusted counts of every n-gram of orders 1..order in the stream `ids` (values < V).

    1) pad the lines with `<s>` = V, 2) per order: key the windows by (id of the window
    without its last word, last word), sort and count them (np.unique), 3) each n-gram's
    continuation count is the number of distinct (n+1)-grams it ends.
    """
    B = V + 1
    s = pad_lines(ids, eos, V)  # (L,)
    L = len(s)
    not_bos = s != V  # (L,)
    raw = [np.bincount(s, minlength=B)]  # order 1
    pos_ids = [s]  # per order: the id of the n-gram starting at each place, -1 if none
    orders = [Order(np.arange(B, dtype=np.int64), np.zeros(B, np.int64),
                    np.zeros(B, np.int64), raw[0])]
    first_bos = [np.zeros(B, dtype=bool)]  # whether an n-gram starts with <s>
    first_bos[0][V] = True
    for n in range(2, order + 1):
        prev = pos_ids[-1]
        ctx = prev[: L - n + 1]  # (L - n + 1,) the first n - 1 words
        w = s[n - 1:]  # (L - n + 1,) the last word
        valid = (ctx >= 0) & not_bos[n - 1:]  # no <s> after the first place
        keys, inv, cnt = np.unique(ctx[valid] * B + w[valid], return_inverse=True,
                                   return_counts=True)
        here = np.full(L - n + 1, -1, dtype=np.int64)
        here[valid] = inv
        suffix = np.empty(len(keys), dtype=np.int64)
        suffix[inv] = prev[1: L - n + 2][valid]  # the window one place on, one word shorter
        starts = np.zeros(len(keys), dtype=bool)
        starts[inv] = ~not_bos[: L - n + 1][valid]
        orders.append(Order(keys, keys // B, suffix, cnt.astype(np.int64)))
        pos_ids.append(here)
        first_bos.append(starts)
    # 3) continuation counts below the highest order: distinct left extensions
    for n in range(order - 1, 0, -1):
        lower, upper = orders[n - 1], orders[n]
        extensions = np.bincount(upper.suffix, minlength=len(lower.keys))
        lower.count = np.where(first_bos[n - 1], lower.count, extensions)
    orders[0].count[V] = 0  # <s> is never predicted
    return orders
