"""Writing a Kneser-Ney model as an ARPA file, the text format every n-gram toolkit reads.

    \\data\\
    ngram 1=M_1 ...
    \\1-grams:
    log10 p(w)   w   log10 gamma(w)
    ...
    \\end\\

Our `<eos>` is written `</s>` (the token predicted at each line's end) and the sentence start,
id V, `<s>` (log10 p = -99, as lmplz writes it: it is never predicted). `<unk>` is an ordinary
word here, with the probability its counts give it. A backoff of 0 (log10 1) is left out.
"""

from __future__ import annotations

import math
from typing import TextIO

import numpy as np

from rnncli.errors import ModelError
from rnncli.ngram.kn import KNModel
from rnncli.text.vocab import Vocab

LOG10E = 1.0 / math.log(10.0)


def arpa_words(vocab: Vocab) -> list[str]:
    """The ARPA spelling of ids 0..V: `</s>` for <eos>, `<s>` for id V; a ModelError where
    ARPA cannot hold the vocabulary (`unwritable`)."""
    why = unwritable(vocab)
    if why is not None:
        raise ModelError(f"cannot write ARPA: {why}")
    words = [*vocab.itos, "<s>"]
    words[vocab.eos] = "</s>"
    return words


def unwritable(vocab: Vocab) -> str | None:
    """Why ARPA cannot hold this vocabulary (tokens that are or hold spaces, as a character
    model's space is: ARPA separates words by spaces), or None."""
    bad = [w for w in vocab.itos if not w or any(c.isspace() for c in w)]
    if not bad:
        return None
    return (f"the vocabulary has tokens that are spaces or hold them "
            f"({', '.join(repr(w) for w in bad[:5])}); ARPA separates words by spaces")


def write_arpa(kn: KNModel, vocab: Vocab, out: TextIO) -> None:
    """Write `kn` in ARPA format to the text stream `out`."""
    words = np.array(arpa_words(vocab), dtype=object)  # (V + 1,)
    B = kn.V + 1
    out.write("\\data\\\n")
    for n, keys in enumerate(kn.keys, 1):
        out.write(f"ngram {n}={len(keys)}\n")
    text = words  # (M_n,) the n-grams as text, built order by order
    for n in range(1, kn.order + 1):
        keys = kn.keys[n - 1]
        if n > 1:
            text = text[keys // B] + " " + words[keys % B]  # (M_n,)
        logp = kn.logp[n - 1].astype(np.float64) * LOG10E
        logp = np.maximum(logp, -99.0)  # <s> and any word with p = 0
        backoff = (kn.backoff[n - 1].astype(np.float64) * LOG10E if n < kn.order
                   else np.zeros(len(keys)))
        out.write(f"\n\\{n}-grams:\n")
        chunk = 1 << 16
        for i in range(0, len(keys), chunk):
            out.write("".join(
                f"{p:.7g}\t{t}\t{b:.7g}\n" if b != 0.0 else f"{p:.7g}\t{t}\n"
                for p, t, b in zip(logp[i:i + chunk].tolist(), text[i:i + chunk],
                                   backoff[i:i + chunk].tolist())))
    out.write("\n\\end\\\n")
