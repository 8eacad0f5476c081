"""The training benchmark runs end to end in its smoke mode (rnncli only, a few seconds)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_smoke(tmp_path):
    out = tmp_path / "r.json"
    env = {k: v for k, v in os.environ.items() if k != "RNNCLI_TORCH_PYTHON"}
    proc = subprocess.run([sys.executable, "bench/bench_train.py", "--smoke", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    tiny = report["summary"]["tiny"]["rnncli"]
    assert tiny["tokens_per_s"] > 0
    assert tiny["peak_rss_mb"] > 0
    assert report["summary"]["tiny"]["torch"] is None
