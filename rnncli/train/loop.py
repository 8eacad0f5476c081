"""Training: read the corpus, build the vocabulary, run truncated BPTT with SGD, keep the best.

    1) tokens: every line of the corpus, then <eos>; validation lines held out or read
    2) the stream is cut into batch_size parallel columns, walked bptt steps at a time
    3) each window: forward, backward through time, clip the global norm, W <- W - lr * dW;
       the last hidden state carries into the next window (its gradient does not)
    4) after each epoch: validation perplexity; when it does not improve, lr *= lr_decay
    5) training stops when rnncli.train.stopping says (epochs, patience, min_lr, max_time)
    6) the weights of the best epoch are the ones kept
    With train.average: nt, once validation stalls the weights are averaged after every step
    and the average is validated and kept instead (rnncli.train.averaging, NT-ASGD).
The optimiser is plain SGD unless train.optimizer names another (rnncli.train.optimizers).
"""

from __future__ import annotations

import itertools
import signal
import time
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rnncli.config.schema import Config, TrainConfig, checkpoint_interval
from rnncli.errors import ConfigError, DataError, ModelError, RnncliError
from rnncli.infer.evaluate import evaluate, perplexity
from rnncli.nn import threads
from rnncli.nn.dropout import StreamMasks
from rnncli.nn.model import RNNLM, output_clusters
from rnncli.store.metrics import MetricsLog
from rnncli.store.model_folder import SavedModel
from rnncli.text.corpus import batchify, encode_lines, held_out, iter_lines, read_lines, windows
from rnncli.text.tokenize import keeps_blank_lines, tokenize_lines, tokenizer
from rnncli.text.vocab import Vocab
from rnncli.train import distributed
from rnncli.train.averaging import Average, nonmonotone
from rnncli.train.checkpoint import Checkpoint, Position, ids_digest, save_checkpoint
from rnncli.train.optimizers import get_state, make_optimizer, set_state
from rnncli.train.samples import complete_prompts
from rnncli.train.sgd import clip_global_norm
from rnncli.train.stopping import Budget, after_epoch
from rnncli.train.stopping import stop as halt


@dataclass
class Corpus:
    """The training and validation text as ids of one vocabulary, ready for batchify."""
    vocab: Vocab
    train_ids: np.ndarray  # (N,) int32
    valid_ids: np.ndarray  # (M,) int32, may be empty
    unk_share: float | None = None  # with a given vocabulary: the share of <unk> in the text


class Reporter(Protocol):
    """What the training loop tells whoever watches it (the CLI draws progress from it)."""

    def start(self, epochs: int, windows_per_epoch: int, corpus: Corpus) -> None: ...
    def step(self, epoch: int, window: int, loss: float, tokens: int) -> None: ...
    def warn(self, message: str) -> None: ...
    def epoch(self, record: dict) -> None: ...
    def sample(self, epoch: int, prompt: str, completion: str) -> None: ...


class Silent:
    """A Reporter that shows nothing (the library's default)."""
    def start(self, epochs, windows_per_epoch, corpus): pass
    def step(self, epoch, window, loss, tokens): pass
    def warn(self, message): pass
    def epoch(self, record): pass
    def sample(self, epoch, prompt, completion): pass


MAX_ROLLBACKS = 3  # non-finite steps in a row before training gives up


class Diverged(RnncliError):
    """The loss kept becoming NaN or infinite; `saved` holds the best model so far (or None)."""

    def __init__(self, message: str, saved: SavedModel | None):
        super().__init__(message)
        self.saved = saved


def prepare(config: Config, vocab: Vocab | None = None) -> Corpus:
    """Read, split, tokenise and encode the corpus the config names, as a stream: the training
    text is never held as lines or tokens, only as int32 ids.

    1) count the lines (to choose the held-out ones), 2) count the tokens (the vocabulary) and
    keep the held-out lines, 3) encode the rest into one preallocated int32 array. With `vocab`
    (fine-tuning) that vocabulary is kept: words outside it become <unk>. With train.max_tokens
    only the first lines are read, as many as one pass of the budget needs (reading_budget).
    """
    d = config.data
    split = tokenizer(d.tokenizer, d.unk_token, d.tokenizer_version)
    blank_too = keeps_blank_lines(d.tokenizer)
    budget = reading_budget(config.train)

    def lines(n: int | None = None):  # the first n lines of the corpus (None: all)
        every = (line for path in d.train
                 for line in iter_lines(path, blank_too, d.max_line_bytes))
        return every if n is None else itertools.islice(every, n)

    held, n_read = None, None
    valid_lines: list[str] = []
    if d.valid is not None:
        valid_lines = read_lines(d.valid, blank_too, d.max_line_bytes)
    elif d.valid_fraction > 0 and budget is not None:
        # enough lines that what is not held out covers the budget (with a tenth to spare)
        n_read, seen, want = 0, 0, 1.1 * budget / (1 - d.valid_fraction)
        for line in lines():
            n_read += 1
            seen += len(split(line, d.lowercase)) + 1  # and <eos>
            if seen >= want:
                break
        held = held_out(n_read, d.valid_fraction, config.train.seed)
    elif d.valid_fraction > 0:
        held = held_out(sum(1 for _ in lines()), d.valid_fraction, config.train.seed)

    counts: Counter = Counter()
    n_tokens = 0
    for i, line in enumerate(lines(n_read)):
        if held is not None and held[i]:
            valid_lines.append(line)  # held-out lines are few: kept as text
            continue
        tokens = split(line, d.lowercase)
        counts.update(tokens)
        n_tokens += len(tokens) + 1  # and <eos>
        if held is None and budget is not None and n_tokens >= budget:
            n_read = i + 1  # the budget's pass is covered: read no further
            break

    def kept():
        for i, line in enumerate(lines(n_read)):
            if held is None or not held[i]:
                yield line

    given = vocab is not None
    if vocab is None:
        vocab = Vocab.from_counts(counts, d.min_count, d.max_vocab)
    train_ids = vocab.encode(tokenize_lines(kept(), d.tokenizer, d.lowercase, d.unk_token,
                                            d.tokenizer_version),
                             n_tokens)
    valid_ids = encode_lines(valid_lines, vocab, d.tokenizer, d.lowercase, d.unk_token,
                             d.tokenizer_version)
    # every one of the batch_size streams must hold one full window: bptt inputs and the
    # target after the last of them
    B, T = config.train.batch_size, config.train.bptt
    need = B * (T + 1)
    if len(train_ids) < need:
        where = d.train[0] if len(d.train) == 1 else f"{d.train[0]} (and {len(d.train) - 1} more)"
        held = (f" ({len(valid_lines)} lines held out for validation)"
                if d.valid is None and valid_lines else "")
        raise DataError(f"{where}: {len(train_ids)} training tokens are too few for batch_size "
                        f"{B} and bptt {T}: need at least {need}{held}")
    unk_share = float(np.mean(train_ids == vocab.unk)) if given else None
    return Corpus(vocab, train_ids, valid_ids, unk_share)


def reading_budget(t: TrainConfig) -> int | None:
    """How many training tokens train.max_tokens needs read (None: the whole corpus): one pass
    of the budget, and one window more, since the last window may pass the budget."""
    if t.max_tokens is None:
        return None
    return t.max_tokens + t.batch_size * (t.bptt + 1)


class Interrupted(Exception):
    """Training stopped on request; a resumable checkpoint was written to `path`."""

    def __init__(self, path, signum: int | None = None):
        super().__init__(f"interrupted: checkpoint written to {path}")
        self.path, self.signum = path, signum


class StopFlag:
    """Set by a signal handler; the loop finishes the current step, then checkpoints."""

    def __init__(self):
        self.signum: int | None = None

    def __call__(self, signum, frame=None) -> None:  # usable as a signal handler
        if self.signum is None:
            self.signum = signum  # a second signal while saving changes nothing


def train(config: Config, reporter: Reporter | None = None, stop: StopFlag | None = None,
          checkpoint_path=None, resume: Checkpoint | None = None,
          init: SavedModel | None = None,
          comm: distributed.Communicator | None = None) -> SavedModel:
    """Train a model as the config says and return it (the caller saves it).

    With `stop` and `checkpoint_path`: when stop is set, the current step finishes, a
    checkpoint is written and Interrupted is raised. With `resume`: go on from a checkpoint
    (its config is the one used), ending with the weights an uninterrupted run would have.
    With `init` (fine-tuning): start from that model's weights and keep its vocabulary; the
    config's model section must be the model's (load_config's `init_from` sees to that).
    Training stops as rnncli.train.stopping says; the returned model's `run` records why.
    With `comm` (rnncli.train.distributed): one of several ranks training one model on its share of
    the streams; rank 0 writes the checkpoints.
    """
    reporter = reporter or Silent()
    comm = comm or distributed.Local()
    origin = None  # fine-tuning: the model this run started from
    if resume is not None:
        config, origin = resume.config, resume.origin
    elif init is not None:
        origin = {"path": str(init.path) if init.path else None,
                  "corpus": init.config.data.train,
                  "tokens_seen": (init.run or {}).get("tokens_seen")}
    given_vocab = None if origin is None else (resume or init).vocab
    t = config.train
    shard = distributed.Shard(comm, t.batch_size)  # before any work
    corpus = prepare(config, given_vocab)
    vocab = corpus.vocab
    digest = ids_digest(corpus.train_ids)
    if resume is not None and (resume.vocab.itos != vocab.itos or resume.ids_sha256 != digest):
        raise DataError(f"{config.data.train[0]}: the corpus changed since the checkpoint was "
                        "written; a resumed run needs the same text")
    try:
        output_clusters(config.model, len(vocab))  # the adaptive softmax's cutoffs must fit
    except ValueError as e:
        raise ConfigError(f"model.cutoffs: {e}") from None
    params = (resume.params if resume is not None else
              None if init is None else {n: p.copy() for n, p in init.model.params.items()})
    model = RNNLM.from_config(config.model, len(vocab), seed=t.seed, params=params)
    masks = StreamMasks(t.seed, shard.streams)  # each stream's own, whichever rank holds it
    optimizer = make_optimizer(model.params, t)
    average = Average(model.params)  # train.average: nt; idle until the trigger
    pos, best_params = Position(lr=t.lr), None
    log = MetricsLog(t.log_every)
    if resume is not None:
        pos, best_params = resume.position, resume.best
        if "bit_generator" in resume.rng_state and config.model.dropout > 0:
            reporter.warn("this checkpoint was written when one generator drew every dropout "
                          "mask; from here on each stream draws its own")
        try:
            set_state(optimizer, pos.lr, pos.opt_step, resume.optimizer)
            average.set_state(pos.averaged, resume.average or {})
        except ValueError as e:  # a damaged checkpoint: one line, never a traceback
            raise ModelError(f"the checkpoint does not fit its own model: {e}") from None
        log = MetricsLog(t.log_every, resume.metrics)
    data = shard.columns(batchify(corpus.train_ids, t.batch_size))  # (L, B / ranks)
    # the thread count: fixed, or measured as windows go; MPI ranks, which wait for each other
    # at every step, take one thread each unless told otherwise
    tuner = threads.Tuner(1 if comm.size > 1 and threads.fixed(t.threads) is None
                          else t.threads)
    sync = distributed.GradSync(comm, model.params, shard.share, n_flags=3)
    distributed.ready(comm)
    n_windows = -(-(data.shape[0] - 1) // t.bptt)
    reporter.start(t.epochs, n_windows, corpus)
    if not len(corpus.valid_ids):
        reporter.warn("nothing is held out for validation (data.valid is not set and "
                      "data.valid_fraction is 0): the perplexity shown, and the one that decays "
                      "the learning rate and picks the best epoch, is the training text's")

    best_ppl, history = pos.best_ppl, list(pos.history)
    done_seconds = sum(r["seconds"] for r in history)  # training time of the epochs done
    budget, stopped = Budget(t), None
    rollbacks = 0  # non-finite steps in a row
    every_steps, every_seconds = (checkpoint_interval(t.checkpoint_every)
                                  if t.checkpoint_every is not None and checkpoint_path
                                  else (None, None))
    steps_since, saved_at = 0, time.perf_counter()

    def run_record(stopped_by=None):
        return {"stopped": None if stopped_by is None else stopped_by.to_dict(),
                "tokens_seen": log.tokens, "steps": log.step, "seconds": done_seconds,
                "fine_tuned_from": origin}

    def write_checkpoint(epoch, window, loss_sum, n_tokens, seconds, state):
        """Everything needed to go on after `window` windows of `epoch` (latest and best)."""
        state = shard.gather_state(state)  # every rank's streams, on rank 0
        if comm.rank:
            return checkpoint_path
        lr, opt_step, buffers = get_state(optimizer)
        averaged, average_params = average.state()
        here = Position(epoch, window, loss_sum, n_tokens, seconds, lr, best_ppl, history,
                        opt_step, averaged)
        return save_checkpoint(checkpoint_path, Checkpoint(
            config, vocab, model.params, best_params, buffers, state,
            {"dropout": "per stream"}, here, digest, log.state(), origin, average_params))

    per_epoch = (data.shape[0] - 1) * t.batch_size  # targets in one pass
    for epoch in range(pos.epoch, t.epochs + 1):
        last_good = {n: p.copy() for n, p in model.params.items()}  # to roll back to
        last_average = average.state()
        B = data.shape[1]  # the streams this rank holds
        state, loss_sum, n_tokens, skip, spent = model.zero_state(B), 0.0, 0, 0, 0.0
        if resume is not None and epoch == pos.epoch:  # part of this epoch is done already
            state, loss_sum, n_tokens = shard.local_state(resume.state), pos.loss_sum, pos.n_tokens
            skip, spent = pos.window, pos.seconds
        started, cut, partial = time.perf_counter() - spent, False, False
        tuner.pause()
        for i, win in enumerate(windows(data, t.bptt, vocab.eos)):
            if i < skip:
                continue
            keep = (win.prev != vocab.eos) if t.reset_at_eos else None
            loss, grads, state = model.loss_and_grads(win.inputs, win.targets, state, keep,
                                                      masks.at(epoch, i))
            due = ((every_steps is not None and steps_since + 1 >= every_steps) or
                   (every_seconds is not None and
                    time.perf_counter() - saved_at >= every_seconds))
            late = budget.spent(done_seconds + time.perf_counter() - started)  # max_time
            loss, grads, (interrupted, due, late) = sync(  # the sums over the ranks
                loss, grads, (stop is not None and stop.signum is not None, due, late))
            norm = clip_global_norm(grads, t.clip)
            if not (np.isfinite(loss) and np.isfinite(norm)):  # 1) never apply such a step
                rollbacks += 1
                if rollbacks > MAX_ROLLBACKS:
                    model.params.update(best_params or {})
                    raise Diverged(
                        f"training diverged: the loss was not finite {rollbacks} steps in a row "
                        f"(epoch {epoch}, window {i + 1}, lr {optimizer.lr:.3g}); try a smaller "
                        "train.lr or train.clip", None if best_params is None else
                        SavedModel(model, vocab, config, history, metrics=log.lines,
                                   run=run_record(halt("diverged", epoch, t))))
                for n, p in model.params.items():  # 2) back to the epoch's starting weights
                    p[...] = last_good[n]
                average.set_state(*last_average)
                set_state(optimizer, optimizer.lr / 2, 0, {})  # 3) with half the step, afresh
                state = model.zero_state(B)
                reporter.warn(f"epoch {epoch}, window {i + 1}: the loss was not finite; rolled "
                              f"back to the epoch's first weights, lr halved to "
                              f"{optimizer.lr:.3g}")
                continue
            rollbacks = 0
            optimizer.step(grads)
            average.step()  # avg <- avg + (W - avg) / (k + 1), once triggered
            tokens = win.inputs.shape[0] * t.batch_size  # every rank's
            tuner.tick(tokens)
            loss_sum += loss * tokens
            n_tokens += tokens
            now = time.perf_counter() - started
            log.add_step(epoch, loss, norm, t.clip > 0 and norm > t.clip, optimizer.lr, tokens,
                         done_seconds + now)
            reporter.step(epoch, i + 1, loss, tokens)
            steps_since += 1
            if interrupted or due:
                path = write_checkpoint(epoch, i + 1, loss_sum, n_tokens, now, state)
                steps_since, saved_at = 0, time.perf_counter()
                if interrupted:  # a rank the signal did not reach stops as SIGTERM asks
                    raise Interrupted(path, (stop and stop.signum) or signal.SIGTERM)
            if t.max_tokens is not None and (epoch - 1) * per_epoch + n_tokens >= t.max_tokens:
                partial = i + 1 < n_windows
                break  # the token budget is spent: validate what was trained
            if late and i + 1 < n_windows:  # any rank's clock past the budget stops them all
                cut = True  # 4) out of time: this window is the epoch's last
                break
        train_loss = loss_sum / n_tokens
        seconds = time.perf_counter() - started
        done_seconds += seconds
        average.swap()  # NT-ASGD: the average is validated, kept and sampled (swapped back below)
        if len(corpus.valid_ids):
            ppl = distributed.sum_scores(comm, evaluate(  # each rank scores its share
                model, corpus.valid_ids, vocab.eos, vocab.unk, t.reset_at_eos,
                part=(comm.rank, comm.size), ranks=False)).perplexity  # no accuracy: cheaper
        else:
            ppl = perplexity(train_loss)  # nothing held out: train perplexity
        record = {"epoch": epoch, "train_loss": train_loss,
                  "valid_ppl" if len(corpus.valid_ids) else "train_ppl": ppl,
                  "lr": optimizer.lr, "seconds": seconds, "tokens_per_s": n_tokens / seconds,
                  "threads": tuner.current}  # the count in force at the epoch's end
        if average.count:
            record["averaged_steps"] = average.count  # valid_ppl is the average's
        if cut or partial:
            record["partial"] = True  # max_time or max_tokens ended it early
        history.append(record)
        if ppl < best_ppl:
            best_ppl = ppl
            best_params = {n: p.copy() for n, p in model.params.items()}
        else:
            optimizer.lr *= t.lr_decay
        reporter.epoch(record)
        log.add_epoch(record, done_seconds)
        if t.sample_prompts:
            for prompt, text in zip(t.sample_prompts, complete_prompts(
                    model, vocab, config, t.sample_prompts)):
                reporter.sample(epoch, prompt, text)
        average.swap()  # the weights SGD goes on from
        if (t.average == "nt" and not average.active and
                nonmonotone([r["valid_ppl"] for r in history], t.nonmono)):
            average.start()
            reporter.warn(f"epoch {epoch}: validation stalled (nonmono {t.nonmono}); averaging "
                          "the weights from here on (NT-ASGD)")
        spent = t.max_tokens is not None and (epoch - 1) * per_epoch + n_tokens >= t.max_tokens
        over = np.array([float(budget.spent(done_seconds))])
        comm.allreduce(over)  # the ranks stop together, whichever clock ran out first
        stopped = (halt("max_time", epoch, t) if cut or over[0] > 0 else
                   halt("max_tokens", epoch, t) if spent else
                   after_epoch(t, history, optimizer.lr))
        if stopped is not None:
            break
    if best_params is not None:
        model.params.update(best_params)
    distributed.check_same_weights(comm, model.params)
    return SavedModel(model, vocab, config, history, metrics=log.lines, run=run_record(stopped))
