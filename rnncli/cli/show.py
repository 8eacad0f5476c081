"""`rnncli show`: what a model is and how it was trained, with its curves drawn in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rnncli.cli.common import JsonOpt, app, user_errors


@app.command()
@user_errors
def show(
    model_dir: Annotated[Path | None, typer.Argument(
        help="Model folder. Default: the one the last `rnncli train` wrote.",
        show_default=False, readable=False)] = None,
    json_out: JsonOpt = False,
    width: Annotated[int, typer.Option("--width", help="Width of the charts, in characters.",
                                       min=10, max=400)] = 60,
):
    """Describe a model folder: cell, sizes, parameters, bytes on disk, vocabulary, corpus,
    tokens seen, time, why training stopped; then training loss and validation perplexity
    against tokens seen, and the gradient norm, drawn in the terminal. `--json` gives it all
    (rnncli.store.describe.describe) for scripts."""
    from rnncli.errors import ModelError
    from rnncli.store.describe import describe
    from rnncli.store.remembered import last_model

    folder = model_dir if model_dir is not None else last_model()
    if folder is None:
        raise ModelError("no model given and none trained yet: run `rnncli train` or pass "
                         "MODEL_DIR")
    info = describe(folder)
    if json_out:
        print(json.dumps(info))
        return
    for line in render(info, width):
        print(line)


def _count(n) -> str:
    return "?" if n is None else f"{n:,}"


def render(info: dict, width: int = 60) -> list[str]:
    """The text `rnncli show` prints for describe()'s dict."""
    from rnncli.cli.plot import chart
    from rnncli.store import metrics

    tied = ", tied embedding/output" if info["tie_weights"] else ""
    lines = [info["path"],
             f"  cell        {info['cell']}, {info['layers']} layer(s), embedding "
             f"{info['embedding']}, hidden {info['hidden']}, dropout {info['dropout']}{tied}",
             f"  vocabulary  {info['vocab_size']:,} {info['tokenizer']} tokens"
             + (f" (tokeniser version {info['tokenizer_version']})"
                if info["tokenizer"] == "word" else ""),
             f"  parameters  {info['parameters_total']:,}"]
    names = list(info["parameters"])
    pad = max(map(len, names))
    for name in names:
        p = info["parameters"][name]
        shape = " x ".join(map(str, p["shape"]))
        lines.append(f"    {name:<{pad}}  {shape:<12} {p['count']:>12,}")
    on_disk = ", ".join(f"{n} {b:,}" for n, b in info["bytes"].items() if n != "total")
    lines.append(f"  on disk     {info['bytes']['total']:,} bytes ({on_disk})")
    lines.append(f"  corpus      {', '.join(info['corpus'])}")
    best = info["best"]
    epochs_done = (f"{info['epochs']} epoch(s)" if not info.get("partial_epoch") else
                   f"{info['epochs'] - 1} epoch(s) and part of another" if info["epochs"] > 1
                   else "part of an epoch")
    trained = (f"  trained     {epochs_done}, {_count(info['steps'])} steps, "
               f"{_count(info['tokens_seen'])} tokens, {info['seconds']:.1f}s, "
               f"{info['optimizer']}")
    lines.append(trained)
    if best is not None:
        of = metrics.of(best)
        lines.append(f"  best        {of} perplexity {metrics.perplexity(best):.2f} "
                     f"(epoch {best['epoch']}{'' if of == 'validation' else ', nothing held out'})")
    stopped = info["stopped"]
    lines.append(f"  stopped     {stopped['message'] if stopped else 'not recorded'}")
    if info["fine_tuned_from"]:
        ft = info["fine_tuned_from"]
        lines.append(f"  fine-tuned  from {ft['path']} ({', '.join(ft['corpus'])})")
    steps, epochs = info["curves"]["steps"], info["curves"]["epochs"]
    by_tokens = all(e["tokens"] is not None for e in epochs)
    x_label = "tokens seen" if by_tokens else "epoch"
    if steps:
        lines += ["", *chart([s["tokens"] for s in steps], [s["loss"] for s in steps], width,
                             title="training loss (nats/token)", x_label="tokens seen")]
    elif info.get("steps") is not None:
        lines += ["", f"training loss (nats/token): not logged: the run took {info['steps']:,} "
                      f"steps, fewer than train.log_every ({info['log_every']:,})"]
    if epochs:
        xs = [e["tokens"] if by_tokens else e["epoch"] for e in epochs]
        of = metrics.of(epochs[-1])
        lines += ["", *chart(xs, [metrics.perplexity(e) for e in epochs], width,
                             title=f"{of} perplexity"
                                   + ("" if of == "validation" else " (nothing held out)"),
                             x_label=x_label)]
    if steps:
        clipped = sum(bool(s["clipped"]) for s in steps)
        lines += ["", *chart([s["tokens"] for s in steps], [s["grad_norm"] for s in steps],
                             width, height=6, x_label="tokens seen",
                             title=f"gradient norm before clipping ({clipped} of {len(steps)} "
                                   "logged steps clipped)")]
    return lines
