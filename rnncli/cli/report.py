"""Training progress on stderr: a live bar on a terminal, one plain line per epoch elsewhere."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rnncli.store import metrics

_PPL = {"validation": "valid ppl", "training": "train ppl"}  # the epoch line's words for each


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ConsoleReporter:
    """Implements rnncli.train.loop.Reporter for the command line."""

    def __init__(self, console: Console, max_time: float | None = None,
                 max_tokens: int | None = None):
        """max_time (seconds) and max_tokens: train's budgets, which bound the ETA."""
        self.console = console
        self.live = console.is_terminal
        self.progress: Progress | None = None
        self.max_time, self.max_tokens = max_time, max_tokens

    def start(self, epochs, windows_per_epoch, corpus):
        self.epochs, self.per_epoch = epochs, windows_per_epoch
        self.started = time.perf_counter()
        self.tokens = 0
        self.console.print(
            f"training on {len(corpus.train_ids):,} tokens ({len(corpus.valid_ids):,} held out "
            f"for validation), vocabulary {len(corpus.vocab):,}",
            highlight=False, soft_wrap=True)
        if corpus.unk_share is not None:
            self.console.print(f"fine-tuning: the model's vocabulary kept; {corpus.unk_share:.2%}"
                               " of the training tokens are <unk> (words it does not know)",
                               highlight=False, soft_wrap=True)
        if self.live:
            self.progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
                MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[speed]:,.0f} tok/s"), TimeRemainingColumn(),
                console=self.console, transient=True)
            self.task = self.progress.add_task("train", total=epochs * windows_per_epoch,
                                               epoch=1, epochs=epochs, loss="-",
                                               speed=0.0)
            self.progress.start()

    def step(self, epoch, window, loss, tokens):
        self.tokens += tokens
        if self.progress is not None:
            speed = self.tokens / max(time.perf_counter() - self.started, 1e-9)
            self.progress.update(self.task, advance=1, epoch=epoch, loss=f"{loss:.3f}",
                                 speed=speed)

    def warn(self, message):
        target = self.progress.console if self.progress is not None else self.console
        target.print(f"warning: {message}", highlight=False, soft_wrap=True)

    def eta(self, epoch: int) -> float:
        """Seconds left: the epochs still to come at this run's pace, or less where the time
        or the token budget runs out first."""
        elapsed = time.perf_counter() - self.started
        left = [elapsed / epoch * (self.epochs - epoch)]
        if self.max_time is not None:
            left.append(max(self.max_time - elapsed, 0.0))
        if self.max_tokens is not None and self.tokens:
            left.append(max(self.max_tokens - self.tokens, 0) * elapsed / self.tokens)
        return min(left)

    def epoch(self, record):
        eta = self.eta(record["epoch"])
        line = (f"epoch {record['epoch']:>{len(str(self.epochs))}}/{self.epochs}  "
                f"loss {record['train_loss']:.3f}  {_PPL[metrics.of(record)]} "
                f"{metrics.perplexity(record):.2f}  "
                f"lr {record['lr']:.3g}  {record['tokens_per_s']:,.0f} tok/s  "
                f"ETA {_clock(eta)}")
        if self.progress is not None:
            self.progress.console.print(line, highlight=False)
        else:
            self.console.print(line, highlight=False, soft_wrap=True)

    def sample(self, epoch, prompt, completion):
        target = self.progress.console if self.progress is not None else self.console
        target.print(f"  sample: {prompt} -> {completion}", highlight=False, soft_wrap=True,
                     markup=False)

    def close(self):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
