"""Bad input, clear answer: every mistake a user can make ends in one line `Error: ...` on
stderr and exit status 1, prints nothing on stdout, and creates or changes no file."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from clirun import TINY, assert_error, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnncli.config.schema import load_config
from rnncli.errors import ConfigError
from rnncli.store import model_folder
from rnncli.train.loop import train

ROOT = Path(__file__).resolve().parents[2]


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every path under the roots; a file with its size and modification time."""
    seen = {}
    for root in roots:
        for p in [root, *root.rglob("*")]:
            st_ = p.lstat()
            seen[str(p)] = ("dir",) if p.is_dir() else (st_.st_size, st_.st_mtime_ns)
    return seen


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny trained model folder, shared by the tests that only read it."""
    base = tmp_path_factory.mktemp("trained")
    (base / "c.txt").write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 8)
    (base / "c.yaml").write_text(TINY.format(corpus="c.txt").replace("epochs: 1", "epochs: 3"))
    return model_folder.save(train(load_config(base / "c.yaml")), base / "model")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """Run in an empty folder, so that a stray `runs/...` would show up in the snapshot."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def unchanged(work, trained):
    """Nothing under the working folder, the state folder or the model folder changes.

    The snapshot is taken when the test starts; a test that makes its own input files calls
    `unchanged()` to take it again before running the command.
    """
    roots = (work, Path(os.environ["XDG_STATE_HOME"]), trained)
    before = {}

    def take():
        before.update(snapshot(*roots))

    take()
    yield take
    assert snapshot(*roots) == before


# --- config --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, sets, fragment", [
    (None, [], "no such config file"),
    ("", [], "the file is empty"),
    ("# only a comment\n", [], "the file is empty"),
    ("data:\n  train: x\n  valid: [1, 2\nmodel:\n  hidden: 3\n", [], "(line 4)"),
    ("model:\n\thidden: 3\n", [], "invalid YAML (line 2)"),
    ("- data\n- model\n", [], "expected a mapping of sections, got list"),
    ("data:\n  - train\n", [], "data: expected a mapping, got list"),
    ("model: 3\n", [], "model: expected a mapping, got int"),
    ("model:\n  hiden: 3\n", [], "unknown key 'model.hiden' (did you mean 'model.hidden'?)"),
    ("modle:\n  hidden: 3\n", [], "unknown key 'modle' (did you mean 'model'?)"),
    ('"model.hidden": 3\n', [], "unknown key 'model.hidden'"),
    ("1: 2\n", [], "unknown key"),
    ("train:\n  epochs: many\n", [], "train.epochs: expected int, got 'many'"),
    ("train:\n  lr: [1]\n", [], "train.lr: expected float"),
    ("data:\n  lowercase: 3\n", [], "data.lowercase: expected bool"),
    ("train:\n  bptt: 0\n", [], "train.bptt: must be at least 1"),
    ("model:\n  dropout: 1.5\n", [], "model.dropout: must be in [0, 1)"),
    ("train:\n  lr: .nan\n", [], "train.lr: must be > 0"),
    ("data:\n  train: ~nosuchuser_xyz/c.txt\n", [], "~nosuchuser_xyz/c.txt: no such corpus"),
    ('data:\n  train: "a\\0b"\n', [], "data.train: a path cannot contain a NUL character"),
    ('output: "a\\0b"\n', [], "output: a path cannot contain a NUL character"),
    ("train:\n  epochs: !!int zz\n", [], "invalid YAML"),
    ("train:\n  seed: 2020-13-45\n", [], "invalid YAML"),
    ("train:\n  seed: !!timestamp x\n", [], "invalid YAML"),
    ("model:\n  hidden: 3\n", ["train.lr"], "--set 'train.lr': expected key.path=value"),
    ("model:\n  hidden: 3\n", ["=3"], "expected key.path=value"),
    ("model:\n  hidden: 3\n", ["train.lrr=1"], "--set: unknown key 'train.lrr'"),
    ("model:\n  hidden: 3\n", ["model={hiden: 3}"], "unknown key 'model.hiden'"),
    ("model:\n  hidden: 3\n", ["train.epochs=ten"], "--set: train.epochs: expected int"),
    ("model:\n  hidden: 3\n", ["train.momentum=2"], "--set: train.momentum: must be in"),
    ("model:\n  hidden: 3\n", ["train.seed=2020-13-45"], "train.seed: expected int"),
    ("model:\n  hidden: 3\n", ["data.train=a\0b"], "NUL"),
])
def test_config_errors(work, unchanged, text, sets, fragment):
    config = work / "c.yaml"
    if text is not None:
        config.write_text(text)
        unchanged()
    args = ["train", config]
    for s in sets:
        args += ["--set", s]
    result = run(*args)
    assert_error(result, fragment)
    assert str(config) in result.stderr or "--set" in result.stderr or "c.txt" in fragment


def test_config_that_is_a_directory(work, unchanged):
    (work / "d.yaml").mkdir()
    unchanged()
    assert_error(run("train", work / "d.yaml"), "is a directory")


def test_config_that_is_not_utf8(work, unchanged):
    (work / "c.yaml").write_bytes(b"model:\n  cell: \xff\n")
    unchanged()
    assert_error(run("train", work / "c.yaml"), "c.yaml")


def test_config_unreadable(work, unchanged):
    config = work / "c.yaml"
    config.write_text("model:\n  hidden: 3\n")
    unchanged()
    config.chmod(0)
    try:
        if _readable(config):
            pytest.skip("running as a user who can read a mode-000 file")
        assert_error(run("train", config), "cannot read")
    finally:
        config.chmod(0o644)


# --- corpus --------------------------------------------------------------------------------

def _readable(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _corpus_config(work: Path, corpus: str) -> Path:
    config = work / "c.yaml"
    config.write_text(TINY.format(corpus=corpus))
    return config


@pytest.mark.parametrize("content, fragment", [
    (None, "c.txt: no such corpus file"),
    (b"", "c.txt: the corpus is empty"),
    (b"\n   \n\t\n\n", "c.txt: the corpus is empty"),
    (b"good line\nsecond line\nbad \xff\xfe line\n",
     "c.txt: line 3: not UTF-8 text (byte 0xff at column 5)"),
    (b"\xc3", "c.txt: line 1: not UTF-8 text (byte 0xc3 at column 1)"),  # cut inside a character
])
@pytest.mark.parametrize("command", ["train", "eval"])
def test_corpus_errors(work, unchanged, trained, command, content, fragment):
    config = _corpus_config(work, "c.txt")
    if content is not None:
        (work / "c.txt").write_bytes(content)
    unchanged()
    args = ["train", config] if command == "train" else ["eval", work / "c.txt", "-m", trained]
    assert_error(run(*args), fragment)


LATIN1 = "the café sat on the mat\n".encode("latin-1")


@pytest.mark.parametrize("command, stdin", [("eval", False), ("eval", True),
                                             ("score", True), ("complete", True)])
def test_latin1_is_one_error_from_a_file_and_from_stdin(work, unchanged, trained, command,
                                                        stdin):
    """The same bytes are refused the same way whether a file or standard input holds them
    (score and complete read texts from arguments or stdin only), and the error says how to
    convert them."""
    (work / "l.txt").write_bytes(LATIN1)
    unchanged()
    source = "-" if stdin else work / "l.txt"
    result = run(command, source, "-m", trained, input=LATIN1 if stdin else None)
    where = "standard input" if stdin else "l.txt"
    assert_error(result, "line 1: not UTF-8 text (byte 0xe9 at column 8); if it is Latin-1, ")
    assert where in result.stderr and "iconv -f latin1 -t utf-8" in result.stderr


@pytest.mark.parametrize("command", ["train", "eval"])
def test_corpus_that_is_a_directory(work, unchanged, trained, command):
    config = _corpus_config(work, "c.txt")
    (work / "c.txt").mkdir()
    unchanged()
    args = ["train", config] if command == "train" else ["eval", work / "c.txt", "-m", trained]
    assert_error(run(*args), "is a directory")


@pytest.mark.parametrize("command", ["train", "eval"])
def test_corpus_unreadable(work, unchanged, trained, command):
    config = _corpus_config(work, "c.txt")
    corpus = work / "c.txt"
    corpus.write_text("the cat sat on the mat .\n" * 20)
    unchanged()
    corpus.chmod(0)
    try:
        if _readable(corpus):
            pytest.skip("running as a user who can read a mode-000 file")
        args = ["train", config] if command == "train" else ["eval", corpus, "-m", trained]
        assert_error(run(*args), "c.txt: cannot read")
    finally:
        corpus.chmod(0o644)


def test_a_corpus_shorter_than_one_window_says_how_many_tokens_it_needs(work, unchanged):
    config = _corpus_config(work, "c.txt")
    (work / "c.txt").write_text("one two three\n" * 2)  # 8 tokens with <eos>
    unchanged()
    assert_error(run("train", config),
                 "c.txt: 8 training tokens are too few for batch_size 2 and bptt 4: "
                 "need at least 10")


def test_a_corpus_of_exactly_one_window_per_stream_trains(work):
    config = _corpus_config(work, "c.txt")
    (work / "c.txt").write_text("one two three four\n" * 2)  # 10 tokens: 2 streams of 4 + 1
    result = run("train", config, "--out", work / "m")
    assert result.exit_code == 0, result.stderr


def test_the_held_out_lines_do_not_count_towards_the_minimum(work, unchanged):
    config = _corpus_config(work, "c.txt")
    (work / "c.txt").write_text("one two three four\n" * 2)  # 10 tokens, 5 held out
    unchanged()
    assert_error(run("train", config, "--set", "data.valid_fraction=0.5"),
                 "5 training tokens are too few for batch_size 2 and bptt 4: need at least 10 "
                 "(1 lines held out for validation)")


def test_a_20_mb_line_without_a_newline_is_handled(work, tmp_path):
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    line = " ".join(words[i % 7 + (i % 3 == 0)] for i in range(20_000_000 // 7))
    corpus = work / "long.txt"
    corpus.write_text(line)  # ~20 MB, no newline at all
    config = work / "c.yaml"
    config.write_text("data: {train: long.txt, valid_fraction: 0}\n"
                      "model: {embedding: 4, hidden: 4}\n"
                      "train: {epochs: 1, batch_size: 512, bptt: 16}\n")
    result = run("train", config, "--out", work / "m")
    if result.exit_code != 0:
        assert_error(result, "long.txt")
    else:
        assert result.stdout.strip() == str(work / "m")
        assert (work / "m" / "model.safetensors").exists()


# --- model folder --------------------------------------------------------------------------

def _bad_model(kind: str, work: Path, trained: Path) -> Path:
    m = work / "bad"
    if kind == "missing":
        return m
    m.mkdir()
    if kind == "file":
        m.rmdir()
        m.write_text("not a folder")
    elif kind == "not a model":
        (m / "notes.txt").write_text("hello")
    elif kind == "json junk":
        (m / model_folder.META).write_text("{not json")
        (m / model_folder.WEIGHTS).write_bytes(b"")
    elif kind == "other json":
        (m / model_folder.META).write_text('{"name": "something else"}')
    elif kind == "wrong shape":
        for f in (model_folder.META, model_folder.WEIGHTS):
            (m / f).write_bytes((trained / f).read_bytes())
        meta = json.loads((m / model_folder.META).read_text())
        meta["config"]["model"]["hidden"] = 5
        (m / model_folder.META).write_text(json.dumps(meta))
    elif kind == "no weights":
        (m / model_folder.META).write_bytes((trained / model_folder.META).read_bytes())
    elif kind == "junk weights":
        (m / model_folder.META).write_bytes((trained / model_folder.META).read_bytes())
        (m / model_folder.WEIGHTS).write_bytes(b"\x00" * 100)
    return m


@pytest.mark.parametrize("kind, fragment", [
    ("missing", "bad: no such model folder"),
    ("file", "bad: is a file"),
    ("empty", "bad: not an rnncli model folder"),
    ("not a model", "bad: not an rnncli model folder"),
    ("json junk", "bad"),
    ("other json", "bad"),
    ("wrong shape", "shape"),
    ("no weights", "model.safetensors"),
    ("junk weights", "model.safetensors"),
])
@pytest.mark.parametrize("command", ["complete", "eval"])
def test_model_folder_errors(work, unchanged, trained, command, kind, fragment):
    m = _bad_model(kind, work, trained)
    (work / "c.txt").write_text("the cat sat on the mat .\n")
    unchanged()
    args = ["complete", "the cat", "-m", m] if command == "complete" else \
        ["eval", work / "c.txt", "-m", m]
    assert_error(run(*args), fragment)


# --- prompts -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["complete", ""], "has no words"),
    (["complete", "   "], "has no words"),
    (["complete", "\t\u3000\n"], "has no words"),
])
def test_prompt_errors(work, unchanged, trained, args, fragment):
    assert_error(run(*args, "-m", trained), fragment)


@pytest.mark.parametrize("args, fragment", [
    (["complete", "the cat", "--words", "-1"], "--words must be 0 or more"),
    (["complete", "the cat", "--next", "-3"], "--next must be 0 or more"),
    (["complete", "the cat", "--sample", "--top-k", "-3"], "--top-k must be 0 or more"),
    (["complete", "the cat", "--top-k", "3"], "--top-k applies only to sampling: add --sample"),
    (["complete", "the cat", "--sample", "--top-p", "0"], "--top-p must be in (0, 1]"),
    (["complete", "the cat", "--sample", "--top-p", "1.5"], "--top-p must be in (0, 1]"),
    (["complete", "the cat", "--sample", "-t", "0"], "--temperature must be > 0"),
    (["complete", "the cat", "--beam", "-2"], "--beam must be 1 or more"),
    (["complete", "the cat", "--beam", "2", "--sample"], "--beam and --sample"),
    (["complete", "the cat", "--lines", "0"], "--lines"),
    (["eval", "-", "--baseline", "kn9"], "--baseline kn9: the n-gram order must be 1 to"),
    (["train", "c.yaml", "--resume", "ckpt"], "--resume takes the config from the checkpoint"),
])
def test_usage_errors_exit_2(work, unchanged, trained, args, fragment):
    """A command line that cannot be run as given is a usage error, as Click's own: exit 2."""
    assert_error(run(*args, *(["-m", trained] if args[0] != "train" else [])), fragment, 2)


def test_a_prompt_of_only_unknown_words_is_answered_with_a_warning(work, unchanged, trained):
    result = run("complete", "zebra giraffe", "-m", trained)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("warning:") and "zebra, giraffe" in warning


def test_words_0_prints_an_empty_completion(work, unchanged, trained):
    result = run("complete", "the cat", "--words", "0", "-m", trained)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "\n" and result.stderr == ""
    result = run("complete", "the cat", "--words", "0", "--next", "2", "--json", "-m", trained)
    assert json.loads(result.stdout)["completion"] == ""
    assert len(json.loads(result.stdout)["next"]) == 2


def test_next_larger_than_the_vocabulary_is_clamped(work, unchanged, trained):
    result = run("complete", "the cat", "--next", "1000000", "--json", "-m", trained)
    assert result.exit_code == 0, result.stderr
    vocab = json.loads((trained / model_folder.META).read_text())["vocab"]
    assert len(json.loads(result.stdout)["next"]) == len(vocab)


def test_a_1_mb_prompt_is_answered(work, unchanged, trained):
    prompt = "the cat sat on the mat . " * (1_000_000 // 25)  # 280,000 tokens
    result = run("complete", "-", "-m", trained, "--words", "2", "--json",
                 input=f"the dog\n{prompt}zebra\nthe cat\n")
    assert result.exit_code == 0, result.stderr
    answers = [json.loads(x) for x in result.stdout.splitlines()]
    assert [len(a["prompt"]) for a in answers] == [7, len(prompt) + 5, 7]
    assert result.stderr == "warning: not in the vocabulary, read as <unk>: zebra\n"
    huge = run("complete", "   " * 400_000, "-m", trained)  # the error line stays short
    assert_error(huge, "has no words")
    assert len(huge.stderr) < 200


def test_stdin_that_is_not_utf8_is_refused_as_a_file_is(work, unchanged, trained):
    data = b"the cat \xff sat\nthe \xc3\n"
    message = ("Error: standard input: line 1: not UTF-8 text (byte 0xff at column 9); if it "
               "is Latin-1, pipe it through `iconv -f latin1 -t utf-8`\n")
    result = run("complete", "-", "-m", trained, "--json", input=data)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    proc = subprocess.run([sys.executable, "-m", "rnncli", "complete", "-", "-m", str(trained),
                           "--json"], input=data, capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr.decode()) == (1, b"", message)


# --- output --------------------------------------------------------------------------------

def _rnncli(*args) -> subprocess.Popen:
    # block-buffered stdout, as for a user: under PYTHONUNBUFFERED a closed pipe shows at once,
    # while buffered it shows only when Python flushes at exit ("Exception ignored ...")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.Popen([sys.executable, "-m", "rnncli", *map(str, args)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_a_closed_pipe_ends_quietly(work, trained):
    """`rnncli complete - | head -1` with many prompts: no traceback, no "Exception ignored"."""
    proc = _rnncli("complete", "-", "-m", trained)

    def feed():
        try:
            proc.stdin.write(b"the cat sat on the\n" * 5000)
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed)
    writer.start()
    first = proc.stdout.readline()
    proc.stdout.close()  # `head -1` is done
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    writer.join()
    proc.stderr.close()
    assert first.strip()
    assert stderr == b"", stderr.decode()
    assert proc.returncode in (0, -13, 141), proc.returncode  # not 1 (an error) nor 120


@pytest.mark.parametrize("args", [["eval", "CORPUS", "--json"], ["complete", "the cat"]])
def test_a_reader_gone_before_the_first_line_is_quiet_too(work, trained, args):
    """The output still sits in stdout's buffer when the command ends: `| head -0`."""
    (work / "c.txt").write_text("the cat sat on the mat .\n")
    args = [work / "c.txt" if a == "CORPUS" else a for a in args]
    proc = _rnncli(*args, "-m", trained)
    proc.stdin.close()
    proc.stdout.close()  # gone before rnncli has written anything
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    proc.stderr.close()
    assert stderr == b"", stderr.decode()
    assert proc.returncode in (0, -13, 141), proc.returncode


def test_train_into_a_read_only_folder(work, unchanged):
    config = _corpus_config(work, "c.txt")
    (work / "c.txt").write_text("the cat sat on the mat .\n" * 4)
    locked = work / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        try:
            (locked / "probe").mkdir()
            (locked / "probe").rmdir()
            writable = True
        except OSError:
            writable = False
        unchanged()
        if writable:
            pytest.skip("running as a user who can write into a read-only folder")
        assert_error(run("train", config, "--out", locked / "m"), "cannot write")
        assert_error(run("train", config, "--out", locked / "sub" / "m"), "cannot write")
    finally:
        locked.chmod(0o755)


def test_train_out_onto_a_file_that_is_not_a_model(work, unchanged):
    config = _corpus_config(work, "c.txt")
    (work / "c.txt").write_text("the cat sat on the mat .\n" * 4)
    (work / "precious.txt").write_text("keep me")
    unchanged()
    assert_error(run("train", config, "--out", work / "precious.txt"), "precious.txt")


# --- properties ----------------------------------------------------------------------------

_yaml_ish = st.text(alphabet=st.sampled_from(list("datrinmoelupbs_.:-[]{},'\"!&*~#|>?% \n\t"
                                                  "0123456789eE+x\u00e9\x00\xff")),
                    max_size=80)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=80), _yaml_ish))
def test_the_config_loader_raises_only_config_errors(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError:
        pass


_sections = st.sampled_from(["data", "model", "train", "output", "data.train", "train.lr",
                             "model.hidden", "data.valid", "train.epochs", "x", ""])


@settings(max_examples=300, deadline=None)
@given(overrides=st.lists(st.one_of(st.text(max_size=30),
                                    st.builds(lambda k, v: f"{k}={v}", _sections,
                                              st.one_of(st.text(max_size=20), _yaml_ish))),
                          max_size=3))
def test_set_overrides_raise_only_config_errors(overrides):
    try:
        load_config(None, overrides)
    except ConfigError:
        pass
