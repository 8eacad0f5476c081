"""The commands that make and inspect models: train, eval, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rnncli.cli.common import (
    JsonOpt,
    ModelOpt,
    ThreadsOpt,
    app,
    load_model,
    stderr_console,
    user_errors,
)

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
    init_from: Annotated[Path | None, typer.Option(
        "--init-from", help="Fine-tune: start from this model folder's weights, keeping its "
        "vocabulary and architecture; the config gives the corpus and training settings.",
        show_default=False, readable=False)] = None,
):
    """Train a model from a YAML config and write its folder.

    Progress goes to stderr; the model folder's path is printed on stdout. `--init-from DIR`
    fine-tunes a trained model on the config's corpus (its words outside the model's
    vocabulary become `<unk>`; their share is reported first). Ctrl-C (or SIGTERM)
    finishes the current step, writes a resumable checkpoint beside the output folder
    (OUTPUT.checkpoint) and exits 130 (143); `--resume` goes on from it, to the same weights.
    Started by `mpiexec -n N` (or `srun`), the N ranks train one model on the streams dealt
    out; rank 0 prints and writes.
    """
    from rnncli.train import distributed

    try:
        comm = distributed.world()
    except distributed.PeerFailed:
        raise typer.Exit(1) from None  # rank 0 says why
    try:
        _train(comm, config, set_, out, resume, init_from)
    except typer.Exit:
        raise
    except Exception as e:
        error = distributed.settle(comm, e)
        if error is e:
            raise
        if isinstance(error, distributed.PeerFailed):
            raise typer.Exit(1) from None
        raise error from None


def _train(comm, config, set_, out, resume, init_from) -> None:
    from rnncli.cli.report import ConsoleReporter
    from rnncli.config.schema import duration
    from rnncli.store import metrics
    from rnncli.train import job
    from rnncli.train.loop import Diverged, Interrupted

    planned = job.plan(config, overrides=set_ or [], out=out, resume=resume,
                       init_from=init_from, comm=comm)
    lead = comm.rank == 0  # the one rank that prints
    console = stderr_console()
    t = planned.config.train
    reporter = (ConsoleReporter(console, t.max_time and duration(t.max_time), t.max_tokens)
                if lead else None)
    if lead and comm.size > 1:  # a launcher that ends the job names a dead rank by pid
        console.print(f"{comm.size} ranks (MPI), pid@host: " + ", ".join(
            f"{r}: {w}" for r, w in enumerate(comm.where)), highlight=False, soft_wrap=True)
    try:
        saved = job.execute(planned, reporter=reporter, comm=comm)
    except Interrupted as e:
        if lead:
            reporter.close()
            console.print(f"{e}; resume with: rnncli train --resume {e.path}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(128 + e.signum) from None
    except Diverged:
        if not lead:
            raise typer.Exit(1) from None  # rank 0 says it
        raise
    finally:
        if lead:
            reporter.close()
    if not lead:
        return
    best = min(saved.history, key=metrics.perplexity)
    seconds = sum(r["seconds"] for r in saved.history)
    why = (saved.run or {}).get("stopped") or {}
    console.print(f"stopped: {why.get('message', 'done')}; best {metrics.of(best)} perplexity "
                  f"{metrics.perplexity(best):.2f} (epoch {best['epoch']}), trained in "
                  f"{seconds:.1f}s; model written to {saved.path}", highlight=False,
                  soft_wrap=True)
    print(saved.path, flush=True)


# --- eval ---------------------------------------------------------------------------------

@app.command("eval")
@user_errors
def eval_(
    corpora: Annotated[list[Path], typer.Argument(
        help="Text files to score (or a fetched corpus's: corpus:NAME/PART).", readable=False)],
    model: ModelOpt = None,
    json_out: JsonOpt = False,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="Score an n-gram model beside the network, and their mix: `kn5` "
        "(Kneser-Ney of order 1 to 5, built from the model's training text on first use and "
        "kept in MODEL.kn5) or an n-gram folder.", show_default=False)] = None,
    cache: Annotated[int, typer.Option(
        "--cache", min=0, help="Mix in a continuous cache of the last N hidden states "
        "(Grave et al. 2017): words seen lately, in a like context, become likelier.")] = 0,
    cache_lambda: Annotated[float | None, typer.Option(
        "--cache-lambda", min=0.0, max=1.0, help="The cache's weight in the mix (default: "
        "chosen on the model's validation text).", show_default=False)] = None,
    cache_theta: Annotated[float | None, typer.Option(
        "--cache-theta", min=0.0, help="How sharply the cache matches states (default: "
        "chosen on the validation text).", show_default=False)] = None,
    dynamic: Annotated[bool, typer.Option(
        "--dynamic", help="Dynamic evaluation (Krause et al. 2018): the model takes a gradient "
        "step on each segment after scoring it, adapting to the text; the model folder is "
        "not changed.")] = False,
    dynamic_lr: Annotated[float | None, typer.Option(
        "--dynamic-lr", min=0.0, help="Dynamic evaluation's step, in units of each weight's "
        "RMS gradient (default: tuned on the validation text).", show_default=False)] = None,
    dynamic_decay: Annotated[float | None, typer.Option(
        "--dynamic-decay", min=0.0, max=1.0, help="How far each step pulls the weights back "
        "towards the trained ones (default: tuned).", show_default=False)] = None,
    accuracy: Annotated[bool | None, typer.Option(
        "--accuracy/--no-accuracy", help="Count top-1/top-5 accuracy (the target's rank among "
        "all words). Default: with the full softmax, where it costs one quick pass over the "
        "logits; not with the adaptive softmax, where it reads other clusters than the "
        "target's (about as slow as training).", show_default=False)] = None,
    threads: ThreadsOpt = None,
):
    """Score text files: tokens, cross-entropy, perplexity, next-word accuracy.

    Several files are scored apart, each from a fresh state: each file's scores, then their
    total (with --json, one line each, {"file": ...}, then the total with {"files": [...]}).
    On a terminal, a progress bar on stderr shows how far the scoring is. (With --baseline,
    --cache or --dynamic, the files are read as one text.)

    Every target token counts, `<eos>` included (each line's end is predicted, and so is its first
    word). Cross-entropy is in nats per token (and bits); log10 prob is the whole text's total
    log10 probability (as n-gram tools report it); perplexity is exp(cross-entropy), over every
    target and again without the `<unk>` targets; accuracy is how
    often the target was the likeliest token (top-1) or among the five likeliest (top-5);
    `<unk>` is the share of targets outside the vocabulary. The hidden state follows the policy
    the model was trained with (reset after each line, or carried across lines).

    With `--baseline`, the n-gram model's perplexity on the same tokens and that of the mix
    p = lambda p_rnn + (1 - lambda) p_kn, lambda chosen on the model's validation text.

    With `--cache N` and/or `--dynamic`: a row for the network alone, one per extra and one for
    all together (with `--baseline`, its mix too: the weights found jointly); settings not given
    are chosen on the model's validation text and printed. Accuracy is not reported there.
    """
    from rnncli.api import Model
    from rnncli.nn.threads import Tuner

    if baseline is not None:
        from rnncli.ngram.baseline import parse_order
        parse_order(baseline)  # a bad order fails before anything is read
    saved = load_model(model)
    tuner = Tuner(threads or "auto")  # the thread count: fixed, or measured window by window
    if cache or dynamic:
        from rnncli.infer.extras import Extras
        extras = Extras(cache, cache_lambda, cache_theta, dynamic, dynamic_lr, dynamic_decay)
        _eval_with_extras(saved, _read_ids(saved, corpora), extras, baseline, json_out)
        return
    if baseline is not None:
        _eval_with_baseline(saved, corpora, baseline, json_out)
        return
    parts = []
    for path in corpora:
        with _progress(path.name) as progress:
            parts.append(Model(saved).evaluate(path, accuracy=accuracy, tuner=tuner,
                                               progress=progress))
        if len(corpora) > 1:
            _report(parts[-1].to_dict(), json_out, {"file": str(path)})
    if len(corpora) > 1:
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        _report(total.to_dict(), json_out, {"files": [str(p) for p in corpora]})
    else:
        _report(parts[0].to_dict(), json_out)


def _progress(label: str):
    """A context manager giving `progress(done, total)` for evaluate: a bar on stderr while
    the scoring runs, where stderr is a terminal (nothing elsewhere)."""
    import contextlib

    console = stderr_console()
    if not console.is_terminal:
        return contextlib.nullcontext(None)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    @contextlib.contextmanager
    def bar():
        with Progress(TextColumn(f"scoring {label}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as p:
            task = p.add_task("eval", total=None)
            yield lambda done, total: p.update(task, completed=done, total=total)

    return bar()


def _report(scores: dict, json_out: bool, about: dict | None = None) -> None:
    """One text's (or the total's) scores: a JSON line, or the plain lines under a heading."""
    if json_out:
        print(json.dumps({**(about or {}), **scores}))
        return
    if about is not None:
        print(about["file"] if "file" in about else f"total of {len(about['files'])} files")
    print(f"tokens         {scores['tokens']:,}")
    print(f"cross-entropy  {scores['cross_entropy']:.4f} nats/token, "
          f"{scores['bits_per_token']:.4f} bits/token")
    print(f"log10 prob     {scores['log10_prob']:,.2f} in all")
    print(f"perplexity     {scores['perplexity']:.2f} with <unk> targets, "
          f"{scores['perplexity_without_unk']:.2f} without")
    if scores["accuracy"] is not None:
        print(f"accuracy       {scores['accuracy']:.2%} top-1, "
              f"{scores['top5_accuracy']:.2%} top-5")
    else:
        print("accuracy       not counted (--accuracy counts it)")
    print(f"<unk>          {scores['unk_rate']:.2%} of targets ({scores['unk_targets']:,})")
    if about is not None and "file" in about:
        print()


def _read_ids(saved, corpora: list[Path]):
    """The corpora as one stream of the model's token ids, <eos> after each line."""
    import numpy as np

    from rnncli.text.corpus import encode_lines, read_lines
    from rnncli.text.tokenize import keeps_blank_lines

    d = saved.config.data
    blank_too = keeps_blank_lines(d.tokenizer)
    lines = [line for path in corpora
             for line in read_lines(path, blank_too, d.max_line_bytes)]
    return np.asarray(encode_lines(lines, saved.vocab, d.tokenizer, d.lowercase, d.unk_token,
                                   d.tokenizer_version))


def _eval_with_baseline(saved, corpora: list[Path], name: str, json_out: bool) -> None:
    import sys

    from rnncli.ngram.baseline import baseline, compare

    ids = _read_ids(saved, corpora)
    kn, _ = baseline(saved, name, lambda m: print(m, file=sys.stderr, flush=True))
    label = f"kn{kn.order}"
    result = compare(saved, kn, ids, label)
    if json_out:
        print(json.dumps({**result["network"], "baseline": result["baseline"],
                          "mix": result["mix"]}))
        return
    net, ngram, mix = result["network"], result["baseline"], result["mix"]
    print(f"tokens         {net['tokens']:,}")
    print(f"{'':14} {'network':>9} {label:>9} {'mix':>9}")
    print(f"{'cross-entropy':14} {net['cross_entropy']:9.4f} {ngram['cross_entropy']:9.4f} "
          f"{mix['cross_entropy']:9.4f}  nats/token")
    print(f"{'perplexity':14} {net['perplexity']:9.2f} {ngram['perplexity']:9.2f} "
          f"{mix['perplexity']:9.2f}")
    print(f"lambda         {mix['lambda']:.3f} (the network's weight in the mix, chosen on the "
          "model's validation text)")


def _eval_with_extras(saved, ids, extras, baseline_name: str | None, json_out: bool) -> None:
    import sys

    from rnncli.infer.extras import evaluate_extras

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    kn, label = None, "kn"
    if baseline_name is not None:
        from rnncli.ngram.baseline import baseline

        kn, _ = baseline(saved, baseline_name, say)
        label = f"kn{kn.order}"
    result = evaluate_extras(saved, ids, extras, kn, label, say)
    if json_out:
        print(json.dumps(result))
        return
    print(f"tokens         {result['tokens']:,}")
    print(f"{'':14} {'cross-entropy':>13} {'perplexity':>10}  weights (network, cache, n-gram)")
    for row in result["rows"]:
        weights = ", ".join(f"{k.removeprefix('weight_')} {v:.3f}" for k, v in row.items()
                            if k.startswith("weight_"))
        print(f"{row['name']:14} {row['cross_entropy']:13.4f} {row['perplexity']:10.2f}  "
              f"{weights}")
    if "cache" in result:
        c = result["cache"]
        print(f"cache          {c['size']:,} states, theta {c['theta']:g}, "
              f"lambda {c['lambda']:.3f}")
    if "dynamic" in result:
        d = result["dynamic"]
        print(f"dynamic        lr {d['lr']:g}, decay {d['decay']:g}, segments of {d['segment']} "
              "tokens")


# --- export -------------------------------------------------------------------------------

@app.command("export")
@user_errors
def export_(
    model_dir: Annotated[Path, typer.Argument(help="Model folder to export.", readable=False)],
    out: Annotated[Path, typer.Argument(help="File to write (.safetensors); `-` writes to "
                                        "stdout.", readable=False)],
    fmt: Annotated[str, typer.Option("--format", help="Layout: torch.")] = "torch",
):
    """Write a model's weights for another framework.

    --format torch: one safetensors file laid out like the state dict of PyTorch's
    word_language_model (encoder.weight, rnn.weight_ih_l0, ..., decoder.weight, decoder.bias;
    with the adaptive softmax, nn.AdaptiveLogSoftmaxWithLoss's decoder.head.weight,
    decoder.head.bias, decoder.tail.0.0.weight, ...), with the vocabulary in index order as a
    JSON list under the metadata key `vocab`. The path written is printed on stdout; with OUT
    `-` the file itself goes there instead.
    """
    import sys

    from rnncli.errors import ModelError
    from rnncli.store import model_folder
    from rnncli.store.export import export, export_bytes

    if str(out) != "-":
        print(export(model_folder.load(model_dir), out, fmt), flush=True)
        return
    if sys.stdout.isatty():
        raise ModelError("-: will not write a binary file to a terminal; redirect stdout "
                         "or name a file")
    data = export_bytes(model_folder.load(model_dir), fmt)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
