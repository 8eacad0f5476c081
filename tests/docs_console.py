"""The console examples of README.md and docs/, run as tests (tests/docs/test_examples.py).

A ```console block is a shell session: each `$ command` (a line ending in `\\` goes on to the
next) runs in bash, and what it prints, stdout and stderr together as a terminal shows them,
must be what the block shows under it. Directives in HTML comments just above a block, and
ellipses in it, loosen the match or set the scene:

- a line `...` stands for any number of lines (training's epochs, a long listing), and `...`
  within a line for any text on that line (a path that depends on where it ran);
- `<!-- test: numbers by pattern -->` on the line before the block matches every number, every
  run of drawing glyphs (bars, charts) and every run of spaces by pattern, for output whose
  figures depend on the machine (timings, speeds, float digits) or are shown shortened: the
  test then checks its shape, the same words in the same lines;
- `<!-- test: with rnncli serve ARGS -->` before the block starts that server (once per page, on a
  free port, stopped when the tests end), and `localhost:8000` in the commands reaches it.

Every document runs in a folder of its own, where `runs/cuisine` is the demo model the tests
ship (tests/fixtures/demo-model), remembered as the last model trained, and `configs/` and
`corpora/` are the repository's.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NUMBER = r"\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?"
GLYPHS = "\u2580-\u259f\u2800-\u28ff"  # block elements (bars, heat rows), braille (charts)
# what matches by pattern: a number, a run of drawing glyphs (a bar, a row of units), spaces
LOOSE = re.compile(f"({NUMBER})|([{GLYPHS}]+(?: +[{GLYPHS}]+)*)|( +)")
LOOSE_AS = {1: NUMBER, 2: f"[{GLYPHS} ]*", 3: " +"}
NUMBERS_BY_PATTERN = "numbers by pattern"
DIRECTIVE = re.compile(r"<!-- test: (.*?) -->")
SERVED = re.compile(r"at http://127\.0\.0\.1:(\d+)/")
TIMEOUT_S = 300


def commands_and_outputs(source: str) -> list[tuple[str, str]]:
    """Split a console block into (command, expected output) pairs."""
    pairs: list[tuple[str, list[str]]] = []
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = [line[2:]]
            while command[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            pairs.append(("\n".join(command), []))
        elif pairs:
            pairs[-1][1].append(line)
        else:
            raise ValueError(f"a console block starts with output, not a `$ command`: {line!r}")
        i += 1
    return [(command, "\n".join(output)) for command, output in pairs]


def expected_pattern(expected: str, numbers_vary: bool) -> re.Pattern[str]:
    """The regular expression that the command's whole output must match."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pattern = [_loose(text) if numbers_vary else re.escape(text)
                   for text in line.rstrip().split("...")]
        parts.append("[^\n]*".join(pattern) + r"[ \t]*\n")
    return re.compile("".join(parts))


def _loose(text: str) -> str:
    out, at = [], 0
    for match in LOOSE.finditer(text):
        out.append(re.escape(text[at:match.start()]) + LOOSE_AS[match.lastindex])
        at = match.end()
    return "".join(out) + re.escape(text[at:])


def workdir(namespace: dict) -> Path:
    """The document's own folder, made on its first console example."""
    if "_workdir" not in namespace:
        folder = namespace["tmp_path_factory"].mktemp("docs")
        shutil.copytree(namespace["docs_model"], folder / "runs" / "cuisine")
        for name in ("configs", "corpora"):
            (folder / name).symlink_to(REPO / name, target_is_directory=True)
        state = folder / "state" / "rnncli"
        state.mkdir(parents=True)
        (state / "last-model").write_text(str(folder / "runs" / "cuisine") + "\n")
        namespace["_workdir"] = folder
    return namespace["_workdir"]


def server(namespace: dict, folder: Path, command: str) -> int:
    """Start `command` (rnncli serve ...) on a free port, once per page; its port."""
    servers = namespace["docs_servers"]  # (folder, command) -> port, stopped at the session's end
    if (folder, command) not in servers:
        process = subprocess.Popen([*shlex.split(command), "--port", "0"], cwd=folder,
                                   env=environment(folder), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        servers.started.append(process)
        for line in process.stdout:  # the first line says where it listens
            if match := SERVED.search(line):
                break
        else:
            raise RuntimeError(f"{command} did not start: exit status {process.wait()}")
        threading.Thread(target=process.stdout.read, daemon=True).start()  # drain its log
        servers[(folder, command)] = int(match.group(1))
    return servers[(folder, command)]


class Servers(dict):
    """The servers the examples started, stopped by `stop` (a session fixture's finaliser)."""

    def __init__(self):
        super().__init__()
        self.started: list[subprocess.Popen] = []

    def stop(self) -> None:
        for process in self.started:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def environment(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
               XDG_STATE_HOME=str(folder / "state"), NO_COLOR="1", PYTHONUNBUFFERED="1",
               TERM="dumb", COLUMNS="100")
    return env


def evaluate(example) -> str | None:
    """Run a console block's commands; a mismatch is the failure message Sybil reports."""
    directives = []  # the `<!-- test: ... -->` lines just above the block
    for line in reversed(example.document.text[:example.region.start].rstrip().splitlines()):
        if not line.startswith("<!--"):
            break
        directives += DIRECTIVE.findall(line)
    numbers_vary = NUMBERS_BY_PATTERN in directives
    folder = workdir(example.namespace)
    served = [d.removeprefix("with ") for d in directives if d.startswith("with rnncli serve")]
    port = server(example.namespace, folder, served[0]) if served else None
    for command, expected in commands_and_outputs(example.parsed):
        if port is not None:
            command = command.replace("localhost:8000", f"127.0.0.1:{port}")
        ran = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=folder,
                             env=environment(folder), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=TIMEOUT_S)
        output = "\n".join(line.rstrip() for line in ran.stdout.splitlines())
        output = output + "\n" if output else ""
        if not expected_pattern(expected, numbers_vary).fullmatch(output):
            how = " (numbers by pattern)" if numbers_vary else ""
            return (f"$ {command}\nexit status {ran.returncode}; expected{how}:\n{expected}\n"
                    f"got:\n{output}")
    return None
