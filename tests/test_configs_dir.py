"""Every config shipped in configs/ loads and names a corpus that exists."""

from pathlib import Path

import pytest

from rnncli.config import load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert all(Path(f).exists() for f in cfg.data.train)
