"""The benchmarks run end to end in small modes (rnncli only, seconds)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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


def test_bench_complete_reports_every_strategy(tmp_path, fixed_demo_model):
    out = tmp_path / "c.json"
    proc = subprocess.run([sys.executable, "bench/bench_complete.py", "--model",
                           str(fixed_demo_model),
                           "--prompts", "40", "--runs", "1", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rates = json.loads(out.read_text())["prompts_per_s"]
    assert set(rates) >= {"greedy", "sampling", "beam 4"}
    assert all(r["median"] > 0 for r in rates.values())
    assert "beam 4" in proc.stdout and "prompts/s" in proc.stdout


@pytest.mark.slow  # trains the demo (demo_model) and completes its whole corpus
def test_explain_names_the_dish_across_the_demo_corpus(tmp_path, demo_model):
    """bench/demo_explain.py over the demo corpus: among the prompts the model completes
    correctly, the score names the dish for at least 95%, clause or not, and the replacement
    drop for most (the figures bench/README.md quotes)."""
    out = tmp_path / "e.json"
    proc = subprocess.run([sys.executable, "bench/demo_explain.py", "--model", str(demo_model),
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert sum(report["prompts"].values()) + report["completed_wrongly"] == 316 + 55
    assert report["completed_wrongly"] < 371 * 0.05
    assert min(report["dish_ranked_first"]["score"].values()) >= 0.95
    assert min(report["dish_ranked_first"]["drop"].values()) >= 0.75


def test_bench_serve_answers_every_request(tmp_path, fixed_demo_model):
    """make bench-serve in small: concurrent clients against a served demo model, no failure,
    throughput and latency reported."""
    out = tmp_path / "s.json"
    proc = subprocess.run([sys.executable, "bench/bench_serve.py", "--model", str(fixed_demo_model),
                           "--clients", "8", "--requests", "300", "--runs", "1", "--out",
                           str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (run,) = json.loads(out.read_text())["runs"]
    assert run["answered"] == 300 and run["failures"] == 0
    assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert "requests/s" in proc.stdout
