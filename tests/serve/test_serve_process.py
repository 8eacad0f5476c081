"""rnncli serve as a process: the extra stays out of plain commands, a missing extra is one
`Error:` line, it binds loopback by default and stops cleanly on SIGTERM and Ctrl-C."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from serving import call

SERVE_STACK = ("starlette", "uvicorn", "anyio", "h11", "rnncli.serve")


def python(code: str, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_plain_commands_never_import_the_server(tiny_model):
    code = (
        "import json, sys\n"
        "from typer.main import get_command\n"
        "from rnncli.cli import app\n"
        "get_command(app).main(sys.argv[1:], standalone_mode=False)\n"
        f"stack = {SERVE_STACK!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(stack))))\n")
    done = python(code, "complete", "the cat", "--json", "-m", tiny_model)
    assert done.returncode == 0, done.stderr
    answer, imported = done.stdout.splitlines()
    assert json.loads(answer)["completion"] == "saw"
    assert json.loads(imported) == []
    assert "serve" in python(code, "--help").stdout  # the command is there all the same


def test_without_the_extra_serve_says_how_to_install_it(tiny_model):
    code = ("import sys\nsys.modules['uvicorn'] = None  # as if not installed\n"
            "from rnncli.cli import main\nsys.argv[0] = 'rnncli'\nmain()\n")
    done = python(code, "serve", tiny_model, "--port", "0")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: ")
    assert "pip install 'rnncli[serve]'" in done.stderr


def default_sigint():
    # A shell without job control starts background commands with SIGINT ignored, and the
    # ignoring is inherited: the server is started as a terminal would start it, Ctrl-C live.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(model, *args, env=None):
    proc = subprocess.Popen([sys.executable, "-m", "rnncli", "serve", str(model), "--port", "0",
                             *args], stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
                            env=env)
    line = proc.stderr.readline()  # "rnncli serve: model ..., at http://HOST:PORT/; ..."
    found = re.search(r"at (http://[^/ ]+)/", line)
    assert found, line + proc.stderr.read()
    url = found.group(1)
    deadline = time.monotonic() + 30
    while True:  # bounded: until the server answers, or 30 s
        try:
            call(url + "/v1/models", timeout=5)
            return proc, url
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, -signal.SIGTERM),
                                         (signal.SIGINT, 130)])
def test_a_signal_stops_it_after_the_request_in_flight(tiny_model, sig, status):
    proc, url = start(tiny_model)
    assert url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    try:
        answers = []
        slow = {"prompt": "the cat sat on the mat . " * 9, "explain": True}  # about a second
        sent = threading.Thread(target=lambda: answers.append(call(url + "/v1/complete", slow)))
        started = time.monotonic()
        sent.start()
        time.sleep(0.3)
        proc.send_signal(sig)
        sent.join(timeout=120)
        assert answers and answers[0][0] == 200, answers
        assert len(answers[0][1]["explain"]) == 63
        assert proc.wait(timeout=60) == status
        assert time.monotonic() - started > 0.3  # the answer came after the signal
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read()
    assert "Traceback" not in log and "Finished server process" in log
    with pytest.raises(OSError):
        call(url + "/v1/models", timeout=5)  # nothing listens any more


@pytest.mark.parametrize("key", [None, "from-the-environment"])
def test_listening_beyond_loopback_without_a_key_says_anyone_can_use_it(tiny_model, key):
    env = {k: v for k, v in os.environ.items() if k != "RNNCLI_API_KEY"}
    if key:
        env["RNNCLI_API_KEY"] = key
    proc = subprocess.Popen([sys.executable, "-m", "rnncli", "serve", str(tiny_model), "--port",
                             "0", "--host", "0.0.0.0"], stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        first = proc.stderr.readline()
        assert "reachable from other machines" in first
        port = re.search(r":(\d+)/", first).group(1)
        if key is None:
            assert "anyone" in proc.stderr.readline()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models",
                                                 headers=headers)
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    if key:
        assert "anyone" not in first + proc.stderr.read()
