"""Models remember the tokeniser that made them: a folder saved before versions were recorded
(tests/fixtures/demo-model) reads and completes text as it did, and a model trained now gives
its corpus's spacing back."""

import json
from pathlib import Path

from rnncli.infer.decode import Decoding
from rnncli.infer.predict import complete
from rnncli.store import model_folder
from rnncli.text.tokenize import detokenize, tokenizer

# What the fixture completed before version 2 (written then, by that code)
GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "demo_v1.json")
                    .read_text(encoding="utf-8"))


def test_a_folder_without_a_version_keeps_the_first_tokeniser(fixed_demo_model):
    saved = model_folder.load(fixed_demo_model)
    assert "tokenizer_version" not in json.loads(
        (Path(fixed_demo_model) / "model.json").read_text())["config"]["data"]
    assert saved.config.data.tokenizer_version == 1
    split = tokenizer("word", version=1)
    assert [split(p) for p in GOLDEN["prompts"]] == GOLDEN["prompt_tokens"]
    assert [detokenize(t, "word", 1) for t in GOLDEN["greedy_tokens"]] == GOLDEN["greedy"]


def test_the_old_demo_model_completes_exactly_as_before(fixed_demo_model):
    saved = model_folder.load(fixed_demo_model)
    prompts = GOLDEN["prompts"]
    greedy = complete(saved, prompts, Decoding(words=15))
    assert [c.completion for c in greedy] == GOLDEN["greedy"]
    assert [c.tokens for c in greedy] == GOLDEN["greedy_tokens"]
    assert [c.unknown for c in greedy] == GOLDEN["unknown"]
    assert [c.completion for c in complete(saved, prompts, Decoding(words=8, beam=4))] == \
        GOLDEN["beam"]
    assert [c.completion for c in complete(saved, prompts, Decoding(until="sentence"))] == \
        GOLDEN["sentence"]


def test_a_new_model_records_its_tokeniser_and_gives_the_corpus_spacing_back(tiny_model):
    meta = json.loads((Path(tiny_model) / "model.json").read_text())
    assert meta["config"]["data"]["tokenizer_version"] == 2
    saved = model_folder.load(tiny_model)
    assert saved.config.data.tokenizer_version == 2
    # the tiny corpus writes "the mat ." with a space before the full stop: so does the model
    (c,) = complete(saved, ["the cat sat on the"], Decoding(until="eos"))
    assert c.completion == "mat ."
    (c,) = complete(saved, ["the cat sat on the"], Decoding(until="sentence"))
    assert c.completion == "mat ."  # a full stop ends the sentence, whatever its marks
