import os

# One thread for BLAS and for rnncli's row blocks (RNNCLI_THREADS is train.threads' and
# --threads' default), in this process and the ones it starts: the suite runs many small
# products, which a second thread does not speed up, and on a busy machine threads that wait
# for each other at every product make it several times slower. Set before NumPy is loaded.
os.environ.setdefault("RNNCLI_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["RNNCLI_THREADS"])

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so CI is reproducible; set
# HYPOTHESIS_PROFILE=explore to draw fresh ones while developing.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _private_state(tmp_path_factory, monkeypatch):
    """Keep `rnncli train`'s memory of the last model, and fetched corpora, out of the user's
    home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def real_corpus(tmp_path_factory):
    """fetch(NAME) -> {part: path} of a real corpus, fetched (and verified against the
    catalogue's SHA-256) from the mirror that RNNCLI_CORPUS_MIRROR names into a cache of this
    test run; the test is skipped when the setting is absent (the corpora are not shipped)."""
    from rnncli.text.corpora import MIRROR_ENV, cache_root, get_corpus
    from rnncli.text.fetch import fetch

    mirror = os.environ.get(MIRROR_ENV)
    cache = tmp_path_factory.mktemp("corpora")
    done = {}

    def get(name):
        if not mirror:
            pytest.skip(f"{name} is not shipped: set {MIRROR_ENV} to a mirror (NAME/FILE)")
        if name not in done:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("XDG_CACHE_HOME", str(cache))
                files = fetch(name, mirror=mirror)
                done[name] = {f.part: got.path for f, got in zip(get_corpus(name).files, files)}
                assert all(p.parent.parent == cache_root() for p in done[name].values())
        return done[name]
    return get


TINY_TEXT = "\n".join(["the cat sat on the mat .", "the dog sat on the log .",
                       "a bird sang in the tree .", "the cat saw the bird ."] * 6) + "\n"
TINY_CONFIG = ("data:\n  train: tiny.txt\n  valid_fraction: 0\n"
               "model:\n  embedding: 16\n  hidden: 32\n"
               "train:\n  epochs: 3\n  batch_size: 4\n  bptt: 8\n  lr: 0.5\n"
               "output: model\n")


TINY_SETTINGS = {"data.valid_fraction": 0, "model.embedding": 16, "model.hidden": 32,
                 "train.epochs": 3, "train.batch_size": 4, "train.bptt": 8, "train.lr": 0.5}


@pytest.fixture(scope="session")
def make_model(tmp_path_factory):
    """Train and save a small model: `make_model(lines, **{"model.hidden": 8})` -> its folder.

    `lines` is the corpus (default: the tiny corpus's); the settings start from TINY_SETTINGS
    (all lines trained on, a small network, 3 epochs) and the overrides win, as `--set` would
    give them (a value is written as JSON, which YAML reads back: true, null, [4, 9])."""
    import json

    from rnncli.config.schema import load_config
    from rnncli.store import model_folder
    from rnncli.train.loop import train

    def make(lines: list[str] | None = None, **overrides):
        folder = tmp_path_factory.mktemp("model")
        corpus = folder / "corpus.txt"
        corpus.write_text(TINY_TEXT if lines is None else "\n".join(lines) + "\n")
        settings = {"data.train": str(corpus), **TINY_SETTINGS, **overrides}
        sets = [f"{key}={value if isinstance(value, str) else json.dumps(value)}"
                for key, value in settings.items()]
        config = load_config(None, sets, out=str(folder / "model"))
        return model_folder.save(train(config), config.output)

    return make


@pytest.fixture
def tiny_corpus(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT)
    return path


@pytest.fixture
def tiny_config(tmp_path, tiny_corpus):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_CONFIG)
    return path


@pytest.fixture(scope="session")
def tiny_model(make_model):
    """The tiny corpus learned well (40 epochs), trained once per test run: a model folder.
    Shared: tests read it, never change it."""
    return make_model(**{"train.epochs": 40})


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory):
    """The bundled demo, trained as `make demo` trains it (about 40 s, once per test run), or
    the folder RNNCLI_DEMO_MODEL names, one `rnncli train configs/cuisine.yaml` wrote on this
    machine (the same weights, bit for bit, on one machine and BLAS build), for runs on a busy
    machine.

    Its float32 weights differ in their last bits from one BLAS kernel to another (OpenBLAS's
    Haswell and SkylakeX kernels, say), so tests of it assert only what holds for any demo model
    the code trains (accuracy over many prompts, with a margin); a test of what one particular
    model says uses `fixed_demo_model` instead."""
    from pathlib import Path

    from rnncli.config.schema import load_config
    from rnncli.store import model_folder
    from rnncli.train.loop import train

    config = Path(__file__).resolve().parents[1] / "configs" / "cuisine.yaml"
    if os.environ.get("RNNCLI_DEMO_MODEL"):
        given, demo = model_folder.load(os.environ["RNNCLI_DEMO_MODEL"]), load_config(config)
        if (given.config.model, given.config.train) != (demo.model, demo.train):
            pytest.fail("RNNCLI_DEMO_MODEL is not a model trained with configs/cuisine.yaml")
        return given.path
    trained = train(load_config(config))
    return model_folder.save(trained, tmp_path_factory.mktemp("demo") / "cuisine")


@pytest.fixture(scope="session")
def fixed_demo_model():
    """The demo model trained once and shipped with the tests (tests/fixtures/demo-model,
    written by tests/make_demo_model.py): the same weights on every machine. Read, never
    changed."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "fixtures" / "demo-model"


@pytest.fixture
def restore_threads():
    """Tests that change the thread count put the suite's one thread back afterwards."""
    yield
    from rnncli.nn import threads

    threads.use(1)
