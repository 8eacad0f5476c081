"""The command line as the tests call it: typer's CliRunner, arguments as strings."""

from typer.testing import CliRunner

from rnncli.cli import app


def run(*args, input=None, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input, env=env)
