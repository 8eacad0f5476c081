"""Every config shipped in configs/ loads; the demo's corpus is bundled, and the recipes for
the public corpora (not shipped) name where that corpus goes and take `--set` to point
elsewhere."""

from pathlib import Path

import pytest

from rnncli.config.schema import load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
EXTERNAL = {"wikitext2-lstm.yaml": "wikitext-2", "wikitext2-rnn.yaml": "wikitext-2",
            "shakespeare-char.yaml": "tinyshakespeare"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    cfg = load_config(path)
    if path.name not in EXTERNAL:
        assert all(Path(f).exists() for f in cfg.data.train)
        return
    folder = ROOT / "corpora" / EXTERNAL[path.name]  # where docs/corpora.md says to put it
    assert all(Path(f).resolve().parent == folder for f in cfg.data.train)
    assert EXTERNAL[path.name] in (ROOT / "docs" / "corpora.md").read_text()
    elsewhere = load_config(path, ["data.train=/elsewhere/train.txt.gz"])
    assert elsewhere.data.train == ["/elsewhere/train.txt.gz"]
    assert elsewhere.model == cfg.model and elsewhere.train == cfg.train


def test_every_external_recipe_is_shipped():
    assert set(EXTERNAL) <= {p.name for p in CONFIGS}
