"""Every config shipped in configs/ loads; the demo's corpus is bundled, and the recipes for
the public corpora (not shipped) name a corpus `rnncli corpus get` fetches, say that command,
and take `--set` to point elsewhere."""

from pathlib import Path

import pytest

from rnncli.config.schema import load_config
from rnncli.text.corpora import parse_reference

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
    for ref in [*cfg.data.train, *([cfg.data.valid] if cfg.data.valid else [])]:
        assert parse_reference(ref)[0].name == EXTERNAL[path.name]
    assert f"rnncli corpus get {EXTERNAL[path.name]}" in path.read_text()
    elsewhere = load_config(path, ["data.train=/elsewhere/train.txt.gz"])
    assert elsewhere.data.train == ["/elsewhere/train.txt.gz"]
    assert elsewhere.model == cfg.model and elsewhere.train == cfg.train


def test_every_external_recipe_is_shipped():
    assert set(EXTERNAL) <= {p.name for p in CONFIGS}
