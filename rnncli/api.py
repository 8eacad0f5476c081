"""The Python API: load a trained model and use it, or train one, from a notebook or a script.

    >>> import rnncli
    >>> model = rnncli.load("runs/cuisine")
    >>> model.complete("My favourite dish is sushi. So it is", until="sentence").completion
    'Japanese.'

`load` gives a `Model`; its methods complete prompts (greedy, sampled or by beam search), list
the likeliest next words, score sentences, evaluate a corpus, explain a prediction and trace the
hidden state. `train` trains a model from a config (a dict, a YAML path or a Config) and gives
the Model it wrote. Answers are small dataclasses named as the library names them (Completion,
NextWord, SentenceScore, EvalTotals, Attribution, TraceStep); errors a user can cause are
rnncli.errors.RnncliError's kinds. The command line and the server call these too.
"""

from __future__ import annotations

import sys

if "numpy" not in sys.modules:  # OpenBLAS reads its spin setting once, as NumPy loads it
    from rnncli.nn.blas import short_spin

    short_spin()

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnncli.config.schema import Config
from rnncli.errors import DataError, ModelError
from rnncli.infer.decode import Decoding
from rnncli.infer.evaluate import EvalTotals, evaluate
from rnncli.infer.explain import Attribution, TraceStep
from rnncli.infer.predict import Completion, NextWord
from rnncli.infer.predict import complete as complete_prompts
from rnncli.infer.score import SentenceScore, TokenScore
from rnncli.infer.score import score as score_sentences
from rnncli.store import model_folder
from rnncli.store.model_folder import SavedModel
from rnncli.text.corpus import encode_lines, read_lines
from rnncli.text.tokenize import keeps_blank_lines

__all__ = ["Attribution", "Completion", "Config", "Decoding", "Epoch", "EvalTotals",
           "Explanation", "Model", "NextWord", "SentenceScore", "TokenScore", "TraceStep",
           "load", "train"]


@dataclass
class Explanation:
    """Why the model chose `word` after `prompt`: each prompt token's part in it.

    >>> why = model.explain("Moussaka is really")
    >>> why.word, [a.word for a in why.attributions]
    ('Greek', ['Moussaka', 'is', 'really'])
    """
    prompt: str
    word: str  # the token explained: the completion's first (greedy: the likeliest)
    attributions: list[Attribution]  # one per prompt token; read `score` first


@dataclass
class Epoch:
    """One epoch of training, as `train`'s on_epoch callback sees it.

    >>> config = {"data": {"train": "tiny.txt"},
    ...           "train": {"epochs": 2, "batch_size": 4, "bptt": 8}}
    >>> _ = rnncli.train(config, on_epoch=lambda e: print(e.epoch, e.valid_ppl > 1), out="m")
    1 True
    2 True
    """
    epoch: int  # counted from 1
    train_loss: float  # mean cross-entropy over the epoch's windows, nats per token
    lr: float  # the learning rate the epoch ended with
    seconds: float  # the epoch's training time
    tokens_per_s: float
    valid_ppl: float | None = None  # perplexity on the validation text after the epoch
    train_ppl: float | None = None  # with nothing held out: the training text's instead
    partial: bool = False  # train.max_time ended it before its last window


class Model:
    """A trained model: its network, vocabulary and config, with what can be done with it.

    Made by `rnncli.load(path)` or `rnncli.train(config)`. `saved` is the model folder's
    contents as the library holds them (rnncli.store.model_folder.SavedModel).

    >>> model = rnncli.load("runs/cuisine")
    >>> model.path.name, len(model.vocab)
    ('cuisine', 103)
    """

    def __init__(self, saved: SavedModel):
        self.saved = saved

    def __repr__(self) -> str:
        m = self.config.model
        return (f"<rnncli.Model {m.cell} {m.layers}x{m.hidden}, {len(self.vocab):,} words, "
                f"from {self.path}>")

    @property
    def path(self) -> Path | None:
        """The model folder it was loaded from or saved to (None: not saved)."""
        return self.saved.path

    @property
    def config(self) -> Config:
        """The config it was trained with."""
        return self.saved.config

    @property
    def vocab(self) -> list[str]:
        """Its vocabulary, in id order (`<eos>` and `<unk>` included)."""
        return self.saved.vocab.itos

    @property
    def history(self) -> list[dict[str, Any]]:
        """One record per training epoch: epoch, train_loss, valid_ppl, lr, seconds, ..."""
        return self.saved.history

    # --- completing -------------------------------------------------------------------------

    def complete(self, prompt: str, *, words: int | None = None, until: str | None = None,
                 lines: int | None = None, sample: bool = False, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, seed: int | None = None, beam: int = 0,
                 allow_unk: bool = False, next_k: int = 0, explain: bool = False,
                 trace: bool = False) -> Completion:
        """Complete one prompt: greedy by default, sampled with `sample=True`, or by beam search
        with `beam=W`.

        Args:
            words: at most this many tokens (default 1; with `until`, 100; with `lines`, 100
                per line)
            until: "eos" (the end of the line) or "sentence" (. ! ? or the end of the line)
            lines: go on across line ends to the end of the N-th line (newlines in the text)
            sample, temperature, top_k, top_p, seed: draw each token at random, from the
                distribution sharpened (temperature < 1) or flattened (> 1), cut to the K
                likeliest or to the nucleus of probability P; the same seed, the same draw
            beam: keep W partial completions; `Completion.beams` lists them, best first
            allow_unk: let `<unk>` into the completion
            next_k: also list the K likeliest next words (`Completion.next`)
            explain, trace: also `Completion.explain` and `Completion.trace` (see
                Model.explain and Model.trace)
        Returns:
            a Completion: completion (the text), tokens, logprob (nats), next, unknown (prompt
            words outside the vocabulary), beams, explain, trace

        >>> model.complete("My favourite dish is sushi. So it is", words=2).tokens
        ['Japanese', '.']
        """
        return self.complete_all(
            [prompt], words=words, until=until, lines=lines, sample=sample,
            temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, beam=beam,
            allow_unk=allow_unk, next_k=next_k, explain=explain, trace=trace)[0]

    def complete_all(self, prompts: Iterable[str], *, words: int | None = None,
                     until: str | None = None, lines: int | None = None, sample: bool = False,
                     temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                     seed: int | None = None, beam: int = 0, allow_unk: bool = False,
                     next_k: int = 0, explain: bool = False, trace: bool = False,
                     first: int = 0) -> list[Completion]:
        """Complete many prompts at once (they go through the network together), in order.

        The options are `complete`'s. With `sample` and a `seed`, prompt i is drawn with its
        own stream from (seed, first + i): the same answers however the prompts are batched
        (`first`: the index of prompts[0] in a longer input read in parts).

        >>> [c.completion for c in model.complete_all(["Moussaka is really", "I love"])]
        ['Greek', 'biryani']
        """
        decoding = Decoding(words=words, until=until, lines=lines, sample=sample,
                            temperature=temperature, top_k=top_k, top_p=top_p, beam=beam,
                            seed=seed, allow_unk=allow_unk)
        return complete_prompts(self.saved, list(prompts), decoding,
                                next_k=min(next_k, len(self.vocab)), explain=explain,
                                trace=trace, first=first)

    def next_words(self, prompt: str, k: int = 5) -> list[NextWord]:
        """The k likeliest tokens after the prompt, likeliest first, with their probabilities
        (`<unk>` and `<eos>` among them).

        >>> [(n.word, round(n.prob, 2)) for n in model.next_words("Moussaka is really", 2)]
        [('Greek', 0.99), ('Korean', 0.01)]
        """
        return self.complete(prompt, words=0, next_k=k).next

    def explain(self, prompt: str, **decoding) -> Explanation:
        """Why the model chose the first token of the prompt's completion (greedy by default;
        `decoding`: complete's options): each prompt token's part in it (rnncli.infer.explain
        says what `score`, `drop`, `grad_norm` and `share` measure).

        >>> why = model.explain("My favourite dish is sushi. So it is")
        >>> max(why.attributions, key=lambda a: a.score).word
        'sushi'
        """
        c = self.complete(prompt, explain=True, **decoding)
        return Explanation(prompt, c.explained, c.explain)

    def trace(self, prompt: str) -> list[TraceStep]:
        """The top layer's hidden state after each prompt token: h (H,), its norm, and the next
        token the model would guess there, with its probability.

        >>> [(s.token, s.guess) for s in model.trace("Moussaka is really")]
        [('Moussaka', 'is'), ('is', 'Greek'), ('really', 'Greek')]
        """
        return self.complete(prompt, words=0, trace=True).trace

    # --- scoring ----------------------------------------------------------------------------

    def score(self, sentence: str) -> SentenceScore:
        """How likely the model finds a sentence, read as a line (its end, `<eos>`, scored too):
        logprob (nats), perplexity, and per token a TokenScore (surprisal in bits, the
        likeliest token there and its probability).

        >>> s = model.score("Moussaka is Greek.")
        >>> [t.token for t in s.tokens], s.logprob < 0
        (['Moussaka', 'is', 'Greek', '.', '<eos>'], True)
        """
        return self.score_all([sentence])[0]

    def score_all(self, sentences: Iterable[str]) -> list[SentenceScore]:
        """Score many sentences at once, in order (see `score`)."""
        return score_sentences(self.saved, list(sentences))

    def evaluate(self, *paths: str | Path, text: str | None = None,
                 accuracy: bool | None = None, tuner=None, progress=None) -> EvalTotals:
        """Score a corpus, every token and each line's end: the text files at `paths` (.gz,
        .bz2, .xz read as they are) and/or `text`, one line per line. Returns EvalTotals:
        tokens, cross_entropy (nats per token), perplexity, perplexity_without_unk, top1 and
        top5 (targets that were the likeliest, or among the five likeliest), unk; to_dict()
        gives what `rnncli eval --json` prints. `accuracy`: count top1 and top5 (None: only
        where cheap, with the full softmax; else `ranked` is False and they are 0). `tuner`:
        a rnncli.nn.threads.Tuner that times each window (the thread count as eval goes).
        `progress(done, total)`: called after each window of the pass.

        >>> totals = model.evaluate(text="Moussaka is Greek.")
        >>> totals.tokens, totals.cross_entropy > 0
        (5, True)
        """
        d = self.config.data
        blank_too = keeps_blank_lines(d.tokenizer)
        if not paths and text is None:
            raise DataError("evaluate: give the paths of text files, or text=")
        lines = [line for path in paths
                 for line in read_lines(path, blank_too, d.max_line_bytes)]
        if text is not None:
            lines += [line for line in text.split("\n") if blank_too or line.strip()]
        vocab = self.saved.vocab
        ids = encode_lines(lines, vocab, d.tokenizer, d.lowercase, d.unk_token,
                           d.tokenizer_version)
        if accuracy is None:
            accuracy = self.saved.model.softmax is None  # where it is cheap
        return evaluate(self.saved.model, np.asarray(ids), vocab.eos, vocab.unk,
                        self.config.train.reset_at_eos, ranks=accuracy, tuner=tuner,
                        progress=progress)

    # --- keeping ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model folder to `path` (atomically: complete or absent) and return its
        absolute path; a model folder already there is replaced."""
        written = model_folder.save(self.saved, path)
        self.saved.path = written
        return written


def load(path: str | Path | None = None) -> Model:
    """Load a model folder (None: the one the last `rnncli train` wrote). Its checksums are
    checked; a folder that is missing, damaged or not a model is a ModelError.

    >>> rnncli.load("runs/cuisine")
    <rnncli.Model rnn 1x64, 103 words, from .../runs/cuisine>
    """
    if path is None:
        from rnncli.store.remembered import last_model

        path = last_model()
        if path is None:
            raise ModelError("no model given and none trained yet: train one or give a path")
    return Model(model_folder.load(path))


class _EpochCallback:
    """rnncli.train.loop.Reporter that passes each epoch's record to on_epoch as an Epoch."""

    def __init__(self, on_epoch: Callable[[Epoch], object] | None):
        self.on_epoch = on_epoch

    def start(self, epochs, windows_per_epoch, corpus): pass
    def step(self, epoch, window, loss, tokens): pass
    def warn(self, message): print(f"warning: {message}", file=sys.stderr)
    def sample(self, epoch, prompt, completion): pass

    def epoch(self, record: dict) -> None:
        if self.on_epoch is not None:
            self.on_epoch(Epoch(**{k: record[k] for k in Epoch.__dataclass_fields__
                                   if k in record}))


def train(config: Config | Mapping[str, Any] | str | Path, *,
          on_epoch: Callable[[Epoch], object] | None = None,
          overrides: Iterable[str] = (), out: str | Path | None = None) -> Model:
    """Train a model and write its folder; return it as a Model.

    Args:
        config: a Config, a YAML file's path, or a dict of the same keys as the YAML
            ({"data": {"train": "text.txt"}, "train": {"epochs": 3}}); what it leaves out
            has the defaults' value, and its relative paths are read from the working
            directory
        on_epoch: called after every epoch with an Epoch (loss, validation perplexity, ...)
        overrides: "key.path=value" strings, as `rnncli train --set` takes them
        out: the model folder to write (default: the config's `output`)
    Training stops as the config says (rnncli.train.stopping); the weights of the best epoch
    are kept (rnncli.train.job runs the whole job: the folder written, remembered as the last
    model). Ctrl-C stops it with a checkpoint (rnncli.train.loop.Interrupted); a run whose loss
    diverges raises rnncli.train.loop.Diverged, its best model so far kept in the folder.

    >>> config = {"data": {"train": "tiny.txt"},
    ...           "train": {"epochs": 2, "batch_size": 4, "bptt": 8}}
    >>> model = rnncli.train(config, out="runs/tiny")
    >>> len(model.history), model.path.name
    (2, 'tiny')
    """
    from rnncli.train import job

    if isinstance(config, Mapping):
        config = dict(config)
    return Model(job.run(config, overrides=list(overrides), out=out,
                         reporter=_EpochCallback(on_epoch)))
