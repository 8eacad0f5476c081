"""The n-gram commands: `rnncli kn build` and `rnncli kn arpa`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rnncli.cli.common import ModelOpt, app, load_model, user_errors

kn_app = typer.Typer(no_args_is_help=True, help="A Kneser-Ney n-gram baseline for a model: "
                     "build it from the model's training text, write it as ARPA.")
app.add_typer(kn_app, name="kn")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@kn_app.command("build")
@user_errors
def build(
    model: ModelOpt = None,
    order: Annotated[int, typer.Option("--order", "-n", help="n-gram order, 1 to 5.")] = 5,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="n-gram folder to write. Default: MODEL.knN beside the model "
        "folder (where `eval --baseline knN` looks).", show_default=False,
        readable=False)] = None,
):
    """Build an interpolated modified Kneser-Ney model from the model's training text.

    The same lines, tokeniser and vocabulary as the network (its validation lines are left
    out). The folder's path is printed on stdout.
    """
    from rnncli.ngram.baseline import build_and_save, check_order, default_folder

    check_order(order)
    saved = load_model(model)
    path = build_and_save(saved, order, out or default_folder(saved, order), say)
    print(path, flush=True)


@kn_app.command("arpa")
@user_errors
def arpa(
    kn_dir: Annotated[Path, typer.Argument(help="n-gram folder.", readable=False)],
    out: Annotated[Path | None, typer.Argument(
        help="ARPA file to write; `-` or nothing: stdout.", show_default=False,
        writable=False)] = None,
):
    """Write an n-gram folder as an ARPA file (KenLM, SRILM and the rest read it).

    `<eos>` is written `</s>`, the line start `<s>`; log-probabilities are base 10.
    """
    from rnncli.ngram import folder
    from rnncli.ngram.arpa import write_arpa
    from rnncli.store.folder import writing

    kn, vocab, _ = folder.load(kn_dir)
    if out is None or str(out) == "-":
        write_arpa(kn, vocab, sys.stdout)
        return
    with writing(out) as f:  # a failed write leaves no half file
        write_arpa(kn, vocab, f)
    print(out, flush=True)
