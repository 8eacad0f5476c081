#!/usr/bin/env python3
"""Write tests/fixtures/formats: one tiny folder of every kind rnncli writes, kept as written.

    model-full/       a model folder (rnncli-model 1), LSTM with the full softmax
    model-adaptive/   a model folder (rnncli-model 1), GRU with the adaptive softmax
    checkpoint/       a checkpoint (rnncli-checkpoint 1) of the full-softmax run, interrupted
                      after its first window
    ngram/            an n-gram folder (rnncli-ngram 1), order 3, of the full-softmax model
    corpus.txt        the lines they were trained on

tests/store/test_formats.py loads them: a later rnncli must go on reading the folders an
earlier one wrote. Run this again only when a format gets a new version, into a new folder
beside these, and keep the old ones.

    .venv/bin/python tests/make_format_fixtures.py
"""

import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnncli.config.schema import load_config  # noqa: E402
from rnncli.ngram.baseline import build_and_save  # noqa: E402
from rnncli.store import model_folder  # noqa: E402
from rnncli.train.loop import Interrupted, StopFlag, train  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "formats"
LINES = ["the cat sat on the mat", "the dog sat on the log", "a cat saw a dog",
         "the dog saw the cat on the mat", "a dog and a cat sat", "the log and the mat"]
COMMON = ["train.epochs=2", "train.batch_size=2", "train.bptt=4", "train.lr=0.5",
          "model.embedding=4", "model.hidden=5", "data.valid_fraction=0.34", "train.seed=3"]


def relative(saved, name: str) -> None:
    """Record the corpus relative to the repository: the config is only a record."""
    saved.config.data = dataclasses.replace(saved.config.data,
                                            train=[str(Path(p).relative_to(REPO))
                                                   for p in saved.config.data.train])
    saved.config.output = f"runs/{name}"
    for record in saved.history:
        record["seconds"], record["tokens_per_s"] = 1.0, 100


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = OUT / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    sets = [*COMMON, f"data.train=[{corpus.relative_to(REPO)}]"]

    full = train(load_config(None, [*sets, "model.cell=lstm"], str(OUT / "model-full")))
    relative(full, "model-full")
    model_folder.save(full, OUT / "model-full")

    adaptive = train(load_config(None, [*sets, "model.cell=gru", "model.softmax=adaptive",
                                        "model.cutoffs=[4, 8]", "model.div_value=2"],
                                 str(OUT / "model-adaptive")))
    relative(adaptive, "model-adaptive")
    model_folder.save(adaptive, OUT / "model-adaptive")

    stop = StopFlag()
    stop(2)  # SIGINT before the first window: the loop checkpoints after it
    try:
        train(load_config(None, [*sets, "model.cell=lstm"], str(OUT / "model-full")),
              stop=stop, checkpoint_path=OUT / "checkpoint")
    except Interrupted as e:
        print(e)

    build_and_save(model_folder.load(OUT / "model-full"), 3, OUT / "ngram", print)
    for meta in (OUT / "checkpoint" / "checkpoint.json", OUT / "ngram" / "kn.json"):
        # paths relative to the repository (version 1 hashes neither file's JSON)
        meta.write_text(meta.read_text(encoding="utf-8").replace(f"{REPO}/", ""),
                        encoding="utf-8")
    for path in sorted(OUT.rglob("*")):
        print(path.relative_to(REPO), path.stat().st_size if path.is_file() else "")


if __name__ == "__main__":
    main()
