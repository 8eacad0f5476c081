"""The corpus commands: `rnncli corpus list` and `rnncli corpus get NAME`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from rnncli.cli.common import JsonOpt, app, user_errors

corpus_app = typer.Typer(no_args_is_help=True, help="The standard corpora rnncli can fetch "
                         "into the user's cache, verified by SHA-256, for configs to name as "
                         "corpus:NAME/PART.")
app.add_typer(corpus_app, name="corpus")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@corpus_app.command("list")
@user_errors
def list_(json_out: JsonOpt = False):
    """The corpora of the catalogue, their files (as configs name them) and which are fetched.
    The cache folder is `$XDG_CACHE_HOME/rnncli/corpora` (default `~/.cache/rnncli/corpora`)."""
    from rnncli.text.corpora import CATALOGUE, PREFIX, cache_root, cached_path, fetched

    say(f"cache: {cache_root()}")
    for corpus in CATALOGUE.values():
        have = fetched(corpus)
        if json_out:
            print(json.dumps({"name": corpus.name, "about": corpus.about, "files": [
                {"ref": f"{PREFIX}{corpus.name}/{f.part}", "file": f.name, "url": f.url,
                 "sha256": f.sha256, "fetched": ok,
                 "path": str(cached_path(corpus, f)) if ok else None}
                for f, ok in zip(corpus.files, have)]}))
            continue
        state = ("fetched" if all(have) else
                 f"{sum(have)} of {len(have)} files fetched" if any(have) else "not fetched")
        print(f"{corpus.name:16} {state:22} {corpus.about}")
        parts = "  ".join(f"{PREFIX}{corpus.name}/{f.part}" for f in corpus.files)
        print(f"{'':16} {parts}")


def _names(incomplete: str) -> list[str]:
    """The catalogue's names that complete what was typed (shell completion)."""
    from rnncli.text.corpora import CATALOGUE

    return [name for name in CATALOGUE if name.startswith(incomplete)]


@corpus_app.command("get")
@user_errors
def get(
    names: Annotated[list[str], typer.Argument(
        help="Corpus names, as `rnncli corpus list` shows them.", show_default=False,
        autocompletion=_names)],
    mirror: Annotated[str | None, typer.Option(
        "--from", help="A mirror to fetch from instead of the public sources: a folder, or an "
        "http(s):// URL, laid out NAME/FILE. Default: $RNNCLI_CORPUS_MIRROR if set.",
        show_default=False)] = None,
):
    """Download corpora into the user's cache, verifying each file's SHA-256 before it is
    kept. An interrupted download resumes where it stopped when the command is run again.
    Prints each corpus's cache folder on stdout."""
    from rnncli.text.corpora import get_corpus
    from rnncli.text.fetch import fetch

    for name in names:
        get_corpus(name)  # every name checked before anything is fetched
    for name in names:
        with _progress() as progress:
            files = fetch(name, mirror=mirror, progress=progress)
        for f in files:
            where = "already in the cache" if f.source is None else f"from {f.source}"
            say(f"{name}/{f.path.name}: {f.size:,} bytes, SHA-256 verified, {where}")
        print(files[0].path.parent)


class _progress:
    """A progress callback for fetch(): a rich bar per file on a terminal, nothing elsewhere."""

    def __enter__(self):
        self.bar, self.tasks = None, {}
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            from rnncli.cli.common import stderr_console

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                TransferSpeedColumn(), TimeRemainingColumn(),
                                console=stderr_console(), transient=True)
            self.bar.start()
        return self if self.bar is not None else None

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[label], completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
