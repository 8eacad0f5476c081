"""The command line as the tests call it: typer's CliRunner, arguments as strings; and what
every user error must look like (assert_error)."""

from typer.testing import CliRunner

from rnncli.cli import app


def run(*args, input=None, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input, env=env)


# the smallest config that trains: fill in {corpus}
TINY = "data: {{train: {corpus}, valid_fraction: 0}}\n" \
       "model: {{embedding: 4, hidden: 4}}\n" \
       "train: {{epochs: 1, batch_size: 2, bptt: 4}}\n" \
       "output: out\n"


def assert_error(result, fragment: str, code: int = 1) -> None:
    """One line `Error: ...` holding `fragment`, nothing on stdout, exit status `code` (1 for a
    user's error, 2 for a usage error)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0], result.stderr
