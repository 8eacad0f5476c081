"""The run log, metrics.jsonl: what training did, step by step, for a person or a plot to read.

One JSON object per line, two kinds:

    {"kind": "step", "step", "epoch", "tokens", "loss", "grad_norm", "clipped", "lr",
     "tokens_per_s", "seconds"}     every train.log_every steps: the loss and tokens/s averaged
                                    over the steps since the last line; grad_norm is the global
                                    norm before clipping, clipped whether clipping scaled it
    {"kind": "epoch", "step", "epoch", "tokens", "train_loss", "valid_ppl", "lr", "seconds"}
                                    after every epoch; with nothing held out for validation,
                                    "train_ppl" (the training text's) in place of "valid_ppl"

`tokens` counts the training tokens seen so far in this run, `seconds` the training time so far
(validation excluded). The log lives in memory (a line per log_every steps is small), goes into
every checkpoint, and is written into the model folder with the weights.
"""

from __future__ import annotations

import json

FILE = "metrics.jsonl"
PPL = {"validation": "valid_ppl", "training": "train_ppl"}  # the key of each kind of perplexity


def of(record: dict) -> str:
    """Which text an epoch's perplexity was measured on: "validation", or "training" when
    nothing was held out."""
    return "validation" if record.get("valid_ppl") is not None else "training"


def perplexity(record: dict) -> float:
    """An epoch's perplexity, the one that steers training (lr decay, patience, the best
    epoch): on the validation text, or on the training text when nothing was held out."""
    return record[PPL[of(record)]]


class MetricsLog:
    def __init__(self, log_every: int, state: dict | None = None):
        """A new log, or one going on from `state()`'s output (as a checkpoint keeps it)."""
        state = state or {}
        self.log_every = log_every
        self.lines: list[dict] = list(state.get("lines", []))
        self.step, self.tokens = state.get("step", 0), state.get("tokens", 0)  # run totals
        # the steps since the last step line: their loss * tokens, and tokens
        self._loss, self._tokens = state.get("pending", (0.0, 0))

    def state(self) -> dict:
        """The log and its running totals: `MetricsLog(log_every, state)` goes on from it."""
        return {"lines": self.lines, "step": self.step, "tokens": self.tokens,
                "pending": [self._loss, self._tokens]}

    def add_step(self, epoch: int, loss: float, grad_norm: float, clipped: bool, lr: float,
                 tokens: int, seconds: float) -> None:
        """Count one applied step; every log_every steps, append a line."""
        self.step += 1
        self.tokens += tokens
        self._loss += loss * tokens
        self._tokens += tokens
        if self.step % self.log_every:
            return
        since = self._last_seconds()
        speed = self._tokens / (seconds - since) if seconds > since else 0.0
        self.lines.append({"kind": "step", "step": self.step, "epoch": epoch,
                           "tokens": self.tokens, "loss": self._loss / self._tokens,
                           "grad_norm": grad_norm, "clipped": bool(clipped), "lr": lr,
                           "tokens_per_s": speed, "seconds": seconds})
        self._loss, self._tokens = 0.0, 0

    def _last_seconds(self) -> float:
        steps = [line for line in self.lines if line["kind"] == "step"]
        return steps[-1]["seconds"] if steps else 0.0

    def add_epoch(self, record: dict, seconds: float) -> None:
        self.lines.append({"kind": "epoch", "step": self.step, "epoch": record["epoch"],
                           "tokens": self.tokens, "train_loss": record["train_loss"],
                           PPL[of(record)]: perplexity(record), "lr": record["lr"],
                           "seconds": seconds})



def dumps(lines: list[dict]) -> bytes:
    """metrics.jsonl's bytes: one JSON object per line."""
    return "".join(json.dumps(line) + "\n" for line in lines).encode("utf-8")


def read(data: str) -> list[dict]:
    """Parse metrics.jsonl's text; lines that are not JSON objects are skipped."""
    lines = []
    for text in data.splitlines():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines
