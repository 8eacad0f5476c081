"""The command line: parse arguments, call the library, print, map errors to exit codes.

Results go to stdout, everything else (progress, warnings, errors) to stderr. A user's mistake
ends in one line `Error: ...` and exit status 1; usage errors exit 2 (Click's own).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from rnncli.errors import RnncliError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Train a recurrent neural network language model in plain NumPy, then complete "
         "prompts with it.")

# Paths are passed with `readable=False`: typer would otherwise refuse an unreadable file
# itself, as a usage error in a box; the library says what is wrong, in one `Error:` line.
ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="Model folder. Default: the one the last `rnncli train` wrote.",
    show_default=False, readable=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON Lines).")]

STDIN_BATCH = 256  # prompts read from stdin go through the network this many at a time


def _err(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr, flush=True)


def user_errors(command):
    """Turn the library's typed errors into one `Error: ...` line and exit status 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RnncliError as e:
            _err(str(e))
            raise typer.Exit(1) from None
        except BrokenPipeError:
            # the reader went away (`| head -1`): stop quietly, as cat and grep do
            _silence_stdout()
            raise typer.Exit(0) from None
    return wrapper


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)


def _load_model(model: Path | None):
    from rnncli import store
    return store.load(model if model is not None else store.last_model())


# --- train --------------------------------------------------------------------------------

@app.command()
@user_errors
def train(
    config: Annotated[Path | None, typer.Argument(
        help="YAML config. Default: the bundled demo (dishes and cuisines).",
        show_default=False, readable=False)] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config value: key.path=value (repeatable).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Model folder to write (overrides `output`).",
        show_default=False, readable=False)] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Go on from the checkpoint an interrupted run wrote (its config is "
        "used; no CONFIG or --set).", show_default=False, readable=False)] = None,
):
    """Train a model from a YAML config and write its folder.

    Progress goes to stderr; the model folder's path is printed on stdout. Ctrl-C (or SIGTERM)
    finishes the current step, writes a resumable checkpoint beside the output folder
    (OUTPUT.checkpoint) and exits 130 (143); `--resume` goes on from it, to the same weights.
    """
    import shutil
    import signal

    from rnncli import store
    from rnncli.checkpoint import load_checkpoint
    from rnncli.config import load_config
    from rnncli.errors import ConfigError
    from rnncli.report import ConsoleReporter
    from rnncli.train import Diverged, Interrupted, StopFlag
    from rnncli.train import train as run_training

    checkpoint = None
    if resume is not None:
        if config is not None or set_:
            raise ConfigError("--resume takes the config from the checkpoint: give no CONFIG "
                              "or --set")
        checkpoint = load_checkpoint(resume)
        cfg = checkpoint.config
        if out is not None:
            cfg.output = str(out.resolve())
    else:
        cfg = load_config(config, set_ or [], str(out) if out is not None else None)
    store.check_output(cfg.output)  # now, not after the training
    ckpt_path = Path(cfg.output).with_name(Path(cfg.output).name + ".checkpoint")
    console = _stderr_console()
    reporter = ConsoleReporter(console)
    stop = StopFlag()
    handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        saved = run_training(cfg, reporter, stop=stop, checkpoint_path=ckpt_path,
                             resume=checkpoint)
    except Interrupted as e:
        reporter.close()
        console.print(f"{e}; resume with: rnncli train --resume {e.path}", highlight=False,
                      soft_wrap=True)
        raise typer.Exit(128 + e.signum) from None
    except Diverged as e:
        if e.saved is None:
            raise
        kept = store.save(e.saved, cfg.output)  # keep the best model so far
        store.remember_last(kept)
        raise Diverged(f"{e}; the best model so far is kept in {kept}", None) from None
    finally:
        reporter.close()
        for s, h in handlers.items():
            signal.signal(s, h)
    path = store.save(saved, cfg.output)
    store.remember_last(path)
    if ckpt_path.exists():  # the run is complete: its checkpoint has served
        shutil.rmtree(ckpt_path, ignore_errors=True)
    best = min(saved.history, key=lambda r: r["valid_ppl"])
    seconds = sum(r["seconds"] for r in saved.history)
    console.print(f"best valid perplexity {best['valid_ppl']:.2f} (epoch {best['epoch']}), "
                  f"trained in {seconds:.1f}s; model written to {path}", highlight=False,
                  soft_wrap=True)
    print(path, flush=True)


# --- complete -----------------------------------------------------------------------------

def _stdin_batches(max_batch: int) -> Iterator[list[str]]:
    """Lines of stdin in batches: as many as are already waiting (up to max_batch), so bulk
    input goes through the network together and a line typed alone is answered at once."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:  # not a real file (tests): read in fixed batches
        binary = getattr(sys.stdin, "buffer", None)
        batch: list[str] = []
        for line in binary if binary is not None else sys.stdin:
            if isinstance(line, bytes):  # bytes that are not UTF-8 become U+FFFD
                line = line.decode("utf-8", errors="replace")
            batch.append(line.rstrip("\r\n"))
            if len(batch) == max_batch:
                yield batch
                batch = []
        if batch:
            yield batch
        return

    import select

    buf = b""
    eof = False
    while not eof or buf:
        lines: list[bytes] = []
        while True:
            *complete, buf = buf.split(b"\n")
            lines.extend(complete)
            if eof or len(lines) >= max_batch:
                break
            if lines and not select.select([fd], [], [], 0)[0]:
                break  # nothing more waiting: answer what we have
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                eof = True
                buf, rest = b"", buf
                if rest:
                    lines.append(rest)
            else:
                buf += chunk
        for i in range(0, len(lines), max_batch):
            yield [x.decode("utf-8", errors="replace").rstrip("\r")
                   for x in lines[i: i + max_batch]]


def _some(words: list[str], most: int = 10) -> str:
    """`a, b, c`: the distinct words, at most `most` of them, and how many more there are."""
    distinct = list(dict.fromkeys(words))
    more = f" and {len(distinct) - most} more" if len(distinct) > most else ""
    return ", ".join(distinct[:most]) + more


def _from_stdin(args: list[str] | None, what: str) -> bool:
    """Whether the texts come from stdin: `-`, or no argument with stdin piped."""
    from rnncli.errors import PromptError

    from_stdin = args == ["-"] or (not args and not sys.stdin.isatty())
    if not args and not from_stdin:
        raise PromptError(f"give a {what}, or pipe {what}s on stdin (one per line)")
    return from_stdin


def _answer_each(args, from_stdin: bool, run, line, blank_json: dict | None, what: str) -> None:
    """One output line per text, in order, flushed batch by batch: `run(texts)` answers the
    texts with words, `line(result)` formats one answer. A blank stdin line (an argument must
    have words) gets an empty line, or `blank_json` with the text filled in under `what`."""
    def answer(batch: list[str]) -> None:
        blank = [from_stdin and not x.strip() for x in batch]
        if any(blank):
            print(f"warning: blank {what} line; answered with an empty line", file=sys.stderr)
        results = iter(run([x for x, b in zip(batch, blank) if not b]))
        for is_blank, text in zip(blank, batch):
            if is_blank:
                out = "" if blank_json is None else json.dumps({**blank_json, what: text})
            else:
                out = line(next(results))
            sys.stdout.write(out + "\n")
        sys.stdout.flush()

    if from_stdin:
        for batch in _stdin_batches(STDIN_BATCH):
            answer(batch)
    else:
        answer(list(args))


def _format_plain(c, top_k: int) -> str:
    if not top_k:
        return c.completion
    tops = "\t".join(f"{w} {p:.4f}" for w, p in c.next)
    return f"{c.completion}\t{tops}"


@app.command()
@user_errors
def complete(
    prompts: Annotated[list[str] | None, typer.Argument(
        help="Prompts, one completion each. `-` (or none, with stdin piped) reads one prompt "
             "per line from stdin.", show_default=False)] = None,
    model: ModelOpt = None,
    words: Annotated[int, typer.Option("--words", "-n", help="How many words to add.")] = 1,
    top_k: Annotated[int, typer.Option(
        "--top-k", "-k", help="Also list the K likeliest next words with probabilities.")] = 0,
    json_out: JsonOpt = False,
):
    """Complete prompts with the likeliest next words (greedy).

    Plain output is one line per prompt: the completion, then with --top-k the K likeliest
    next words and their probabilities, tab-separated. --json writes one object per prompt:
    {"prompt", "completion", "next": [{"word", "prob"}], "unknown": [...]}.
    """
    from rnncli.errors import PromptError
    from rnncli.predict import complete as run_complete

    if words < 0:
        raise PromptError(f"--words must be 0 or more, got {words}")
    if top_k < 0:
        raise PromptError(f"--top-k must be 0 or more, got {top_k}")
    from_stdin = _from_stdin(prompts, "prompt")
    saved = _load_model(model)
    top_k = min(top_k, len(saved.vocab))

    def line(c) -> str:
        if c.unknown:
            print(f"warning: not in the vocabulary, read as <unk>: {_some(c.unknown)}",
                  file=sys.stderr)
        return json.dumps(c.to_dict(), ensure_ascii=False) if json_out else _format_plain(c, top_k)

    blank = {"prompt": "", "completion": "", "next": [], "unknown": []}
    _answer_each(prompts, from_stdin, lambda batch: run_complete(saved, batch, words, top_k),
                 line, blank if json_out else None, "prompt")


# --- score --------------------------------------------------------------------------------

@app.command("score")
@user_errors
def score_(
    sentences: Annotated[list[str] | None, typer.Argument(
        help="Sentences, one score each. `-` (or none, with stdin piped) reads one per line.",
        show_default=False)] = None,
    model: ModelOpt = None,
    json_out: JsonOpt = False,
):
    """Score sentences: total log-probability (nats) and perplexity, one line each.

    Plain output: logprob, perplexity and the sentence, tab-separated (so `sort -g` ranks
    them). --json adds, per token, its surprisal in bits and the likeliest token there:
    {"sentence", "logprob", "perplexity", "tokens": [{"token", "surprisal_bits", "best",
    "best_prob"}]}. The line's end (<eos>) is scored too, as in `eval`.
    """
    from rnncli.score import score as run_score

    from_stdin = _from_stdin(sentences, "sentence")
    saved = _load_model(model)

    def line(r) -> str:
        return (json.dumps(r.to_dict(), ensure_ascii=False) if json_out else
                f"{r.logprob:.4f}\t{r.perplexity:.3f}\t{r.sentence}")

    _answer_each(sentences, from_stdin, lambda batch: run_score(saved, batch), line,
                 {"sentence": ""} if json_out else None, "sentence")


# --- eval ---------------------------------------------------------------------------------

@app.command("eval")
@user_errors
def eval_(
    corpora: Annotated[list[Path], typer.Argument(help="Text files to score.",
                                                  readable=False)],
    model: ModelOpt = None,
    json_out: JsonOpt = False,
):
    """Score text files: tokens, cross-entropy, perplexity, next-word accuracy.

    Every target token counts, <eos> included (each line's end is predicted, and so is its first
    word). Cross-entropy is in nats per token; perplexity is exp(cross-entropy); accuracy is how
    often the target was the likeliest token (top-1) or among the five likeliest (top-5);
    <unk> is the share of targets outside the vocabulary. The hidden state follows the policy
    the model was trained with (reset after each line, or carried across lines).
    """
    import numpy as np

    from rnncli.data import encode_lines, read_lines
    from rnncli.evaluate import evaluate

    saved = _load_model(model)
    d = saved.config.data
    lines = [line for path in corpora for line in read_lines(path)]
    ids = encode_lines(lines, saved.vocab, d.tokenizer, d.lowercase)
    scores = evaluate(saved.model, np.asarray(ids), saved.vocab.eos, saved.vocab.unk,
                      saved.config.train.reset_at_eos).to_dict()
    if json_out:
        print(json.dumps(scores))
        return
    print(f"tokens         {scores['tokens']:,}")
    print(f"cross-entropy  {scores['cross_entropy']:.4f} nats/token")
    print(f"perplexity     {scores['perplexity']:.2f}")
    print(f"accuracy       {scores['accuracy']:.2%} top-1, {scores['top5_accuracy']:.2%} top-5")
    print(f"<unk>          {scores['unk_rate']:.2%}")


# --- export -------------------------------------------------------------------------------

@app.command("export")
@user_errors
def export_(
    model_dir: Annotated[Path, typer.Argument(help="Model folder to export.", readable=False)],
    out: Annotated[Path, typer.Argument(help="File to write (.safetensors).", readable=False)],
    fmt: Annotated[str, typer.Option("--format", help="Layout: torch.")] = "torch",
):
    """Write a model's weights for another framework.

    --format torch: one safetensors file laid out like the state dict of PyTorch's
    word_language_model (encoder.weight, rnn.weight_ih_l0, ..., decoder.weight, decoder.bias),
    with the vocabulary in index order as a JSON list under the metadata key `vocab`.
    """
    from rnncli import store
    from rnncli.export import export

    print(export(store.load(model_dir), out, fmt), flush=True)


def main() -> None:
    code: int | str | None = 0
    try:
        app()  # standalone: it ends in SystemExit
    except SystemExit as e:
        code = e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        _silence_stdout()
    try:
        # what is still buffered: a reader that went away shows here, not at interpreter exit
        # as "Exception ignored ... BrokenPipeError" and status 120
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code)
