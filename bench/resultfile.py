"""Where the benchmarks keep their figures: bench/results/NAME-YYYYmmdd-HHMMSS.json (git-ignored),
or the file --out names."""

import datetime
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def results_path(name: str, out: str | None = None) -> Path:
    """The file a run's JSON goes to: `out`, or a new time-stamped one under bench/results/."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(out) if out else RESULTS / f"{name}-{stamp}.json"


def write_results(report: dict, name: str, out: str | None = None) -> Path:
    path = results_path(name, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"[bench] results written to {path}", file=sys.stderr)
    return path
