"""The commands that use a model on text: complete and score."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from rnncli.cli.common import JsonOpt, ModelOpt, ThreadsOpt, app, load_model, user_errors
from rnncli.cli.pipes import answer_each, from_stdin, warn_unknown


class Until(str, Enum):
    """--until's choices: to the end of the line, or of the sentence."""
    eos = "eos"
    sentence = "sentence"


PromptsArg = Annotated[list[str] | None, typer.Argument(
    help="Prompts, one completion each. `-` (or none, with stdin piped) reads one prompt per "
         "line from stdin; none on a terminal starts an interactive session.",
    show_default=False)]
DECODE = "Decoding"
LOOK = "Looking inside"


@app.command()
@user_errors
def complete(
    prompts: PromptsArg = None,
    model: ModelOpt = None,
    words: Annotated[int | None, typer.Option(
        "--words", "-n", help="At most this many tokens (words and punctuation marks). "
        "Default: 1; with --until, 100; with --lines N, 100 a line.", show_default=False,
        rich_help_panel=DECODE)] = None,
    until: Annotated[Until | None, typer.Option(
        "--until", help="Go on to the end of the line (eos), or to the end of the sentence "
        "(sentence: . ! ? or the end of the line).", show_default=False,
        rich_help_panel=DECODE)] = None,
    lines: Annotated[int | None, typer.Option(
        "--lines", "-l", help="Go on across line ends, to the end of the N-th line: each line "
        "end becomes a newline in the completion (--lines 1 is --until eos). Use -z or --json "
        "to tell multi-line answers apart.", show_default=False, rich_help_panel=DECODE)] = None,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Draw each word at random from the model's distribution (default: "
        "the likeliest, greedy).", rich_help_panel=DECODE)] = False,
    temperature: Annotated[float, typer.Option(
        "--temperature", "-t", help="Sampling: < 1 sharpens the distribution, > 1 flattens "
        "it.", rich_help_panel=DECODE)] = 1.0,
    top_k: Annotated[int, typer.Option(
        "--top-k", help="Sampling: draw among the K likeliest words only (0: all).",
        rich_help_panel=DECODE)] = 0,
    top_p: Annotated[float, typer.Option(
        "--top-p", help="Sampling: draw among the smallest set of likeliest words whose "
        "probability reaches P (nucleus).", rich_help_panel=DECODE)] = 1.0,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Sampling: the same seed and input give the same completions.",
        show_default=False, rich_help_panel=DECODE)] = None,
    beam: Annotated[int, typer.Option(
        "--beam", "-b", help="Beam search with W beams, ranked by log-probability per word "
        "(--json lists them all).", show_default=False, rich_help_panel=DECODE)] = 0,
    allow_unk: Annotated[bool, typer.Option(
        "--allow-unk", help="Let `<unk>` (an out-of-vocabulary word) into completions.",
        rich_help_panel=DECODE)] = False,
    next_k: Annotated[int, typer.Option(
        "--next", help="Also list the K likeliest next words with their probabilities.",
        show_default=False, rich_help_panel=LOOK)] = 0,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Why the first word: each prompt word's share in it (gradients "
        "through time), as a bar chart.", rich_help_panel=LOOK)] = False,
    trace: Annotated[bool, typer.Option(
        "--trace", help="The hidden state after each prompt token, as a heat map, with its "
        "norm and the next-word guess there.", rich_help_panel=LOOK)] = False,
    null: Annotated[bool, typer.Option(
        "--null", "-z", help="End each answer with a NUL byte instead of a newline (for "
        "`xargs -0`, `sort -z`): the one plain form that keeps multi-line answers apart.")] = False,
    json_out: JsonOpt = False,
    threads: ThreadsOpt = None,
):
    """Complete prompts: greedy by default, or sampled, or by beam search.

    Plain output is one line per prompt: the completion, then with --next the K likeliest next
    words and their probabilities, tab-separated (--explain and --trace add their charts
    below it). With --lines N a completion spans lines; -z then ends each answer with a NUL
    byte instead of a newline. --json writes one object per prompt and line: {"prompt",
    "completion", "logprob", "next": [{"word", "prob"}], "unknown": [...]}, plus "beams" with
    --beam, "explain" and "trace" when asked for; a completion's line ends are newline characters
    in its string.
    """
    from dataclasses import asdict

    from rnncli.api import Model
    from rnncli.infer.decode import Decoding
    from rnncli.infer.predict import check_next_k
    from rnncli.nn.threads import start as start_threads

    decoding = Decoding(words=words, until=until.value if until else None, lines=lines,
                        sample=sample,
                        temperature=temperature, top_k=top_k, top_p=top_p, beam=beam,
                        seed=seed, allow_unk=allow_unk)  # checks the options: PromptError
    check_next_k(next_k)
    if seed is not None and not sample:
        print("warning: --seed only matters with --sample", file=sys.stderr)
    interactive = not prompts and sys.stdin.isatty()
    piped = False if interactive else from_stdin(prompts, "prompt")
    saved = load_model(model)
    start_threads(threads or "auto")
    next_k = min(next_k or (5 if interactive else 0), len(saved.vocab))

    api_model = Model(saved)

    def run(texts: list[str], first: int):
        return api_model.complete_all(texts, **asdict(decoding), next_k=next_k,
                                      explain=explain, trace=trace, first=first)

    if interactive:
        from rnncli.cli.interactive import session
        session(saved, run, json_out=json_out)
        return

    def line(c) -> str:
        warn_unknown(c.unknown)
        if json_out:
            return json.dumps(c.to_dict(), ensure_ascii=False)
        return plain(c, next_k)

    blank = {"prompt": "", "completion": "", "logprob": None, "next": [], "unknown": []}
    answer_each(prompts, piped, run, line, blank if json_out else None, "prompt",
                end="\0" if null else "\n")


def plain(c, next_k: int) -> str:
    """A completion as plain text: the completion, then tab-separated `word prob` pairs with
    --next, then the charts of --explain and --trace."""
    text = c.completion
    if next_k:
        text += "\t" + "\t".join(f"{n.word} {n.prob:.4f}" for n in c.next)
    if c.explain is None and c.trace is None:
        return text
    from rich.console import Console

    from rnncli.cli import render

    console = Console(highlight=False)
    with console.capture() as charts:
        render.insides(console, c)
    return text + "\n" + charts.get().rstrip("\n")


# --- score --------------------------------------------------------------------------------

@app.command("score")
@user_errors
def score_(
    sentences: Annotated[list[str] | None, typer.Argument(
        help="Sentences, one score each. `-` (or none, with stdin piped) reads one per line.",
        show_default=False)] = None,
    model: ModelOpt = None,
    json_out: JsonOpt = False,
    threads: ThreadsOpt = None,
):
    """Score sentences: total log-probability (nats) and perplexity, one line each.

    Plain output: logprob, perplexity and the sentence, tab-separated (so `sort -g` ranks
    them). --json adds, per token, its surprisal in bits and the likeliest token there:
    {"sentence", "logprob", "perplexity", "tokens": [{"token", "surprisal_bits", "best",
    "best_prob"}], "unknown"}, where `unknown` lists the words outside the model's vocabulary
    (each scored as `<unk>`, with a warning on stderr, as `complete` does). The line's end
    (`<eos>`) is scored too, as in `eval`.
    """
    from rnncli.api import Model
    from rnncli.nn.threads import start as start_threads

    piped = from_stdin(sentences, "sentence")
    api_model = Model(load_model(model))
    start_threads(threads or "auto")

    def line(r) -> str:
        warn_unknown(r.unknown)
        return (json.dumps(r.to_dict(), ensure_ascii=False) if json_out else
                f"{r.logprob:.4f}\t{r.perplexity:.3f}\t{r.sentence}")

    answer_each(sentences, piped, lambda batch, first: api_model.score_all(batch), line,
                {"sentence": ""} if json_out else None, "sentence")
