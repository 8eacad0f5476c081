"""Every command's --help prints what its text says: the help is Markdown, where a bare
`<unk>` would be an HTML tag and vanish ("vocabulary become ; their share")."""

import click
import pytest
import regex
import typer
from clirun import run

from rnncli.cli import app


def commands(group: click.Group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_keeps_the_angle_bracketed_tokens(path, command):
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    wanted = set(regex.findall(r"<[a-z]+>", " ".join(texts)))
    result = run(*path, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for token in wanted:
        assert token in result.stdout, (token, result.stdout)


def test_train_help_names_the_unknown_word():
    assert "become <unk>" in " ".join(run("train", "--help", env={"COLUMNS": "200"})
                                      .stdout.split())
