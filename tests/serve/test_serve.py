"""rnncli serve's JSON API: the CLI's answers over HTTP, batching, and bad input refused."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from clirun import run
from serving import call, same_answer, served

from rnncli.infer.decode import Decoding
from rnncli.infer.predict import complete
from rnncli.serve import work
from rnncli.serve.batcher import Batcher
from rnncli.store import model_folder
from rnncli.store.describe import describe


@pytest.fixture(scope="module")
def server(tiny_model):
    with served(tiny_model, max_body_bytes=1 << 20, max_prompt_tokens=1500,
                max_explain_tokens=1200) as (url, app):
        yield url, app


@pytest.mark.parametrize("flags, options", [
    (["--words", "4", "--next", "3", "--explain", "--trace"],
     {"words": 4, "next": 3, "explain": True, "trace": True}),
    (["--sample", "--seed", "7", "--until", "eos", "-t", "1.5", "--top-k", "5"],
     {"sample": True, "seed": 7, "until": "eos", "temperature": 1.5, "top_k": 5}),
    (["--beam", "3", "--until", "sentence"], {"beam": 3, "until": "sentence"}),
])
def test_complete_answers_what_the_cli_prints(server, tiny_model, flags, options):
    url, _ = server
    prompts = ["the cat", "a bird sang", "the dog sat on"]
    cli = run("complete", *prompts, *flags, "--json", "-m", tiny_model)
    assert cli.exit_code == 0, cli.stderr
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    status, many = call(url + "/v1/complete", {"prompt": prompts, **options})
    assert status == 200 and same_answer(many, expected), (many, expected)
    status, one = call(url + "/v1/complete", {"prompt": prompts[0], **options})
    assert status == 200 and same_answer(one, expected[0]), (one, expected[0])


def test_score_answers_what_the_cli_prints(server, tiny_model):
    url, _ = server
    sentences = ["the cat sat on the mat .", "log the on"]
    cli = run("score", *sentences, "--json", "-m", tiny_model)
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    status, many = call(url + "/v1/score", {"sentence": sentences})
    assert status == 200 and same_answer(many, expected), (many, expected)
    status, one = call(url + "/v1/score", {"sentence": sentences[1]})
    assert status == 200 and same_answer(one, expected[1]), (one, expected[1])


def test_model_describes_the_model(server, tiny_model):
    status, info = call(server[0] + "/v1/model")
    saved = model_folder.load(tiny_model)
    assert status == 200 and info["vocab_size"] == len(saved.vocab)
    assert info["config"]["model"]["hidden"] == 32 and len(info["history"]) == 40
    assert info["parameters"] == sum(a.size for a in saved.model.params.values())
    shown = describe(tiny_model)  # and what `rnncli show --json` says of it
    assert info["parameters_total"] == shown["parameters_total"]
    assert info["stopped"] == shown["stopped"] and info["curves"] == shown["curves"]


def test_concurrent_requests_all_get_their_own_answers(server):
    url, _ = server
    bodies = [{"prompt": p, "sample": True, "seed": i, "words": 5}
              for i, p in enumerate(["the cat", "a bird", "the dog sat", "the"] * 8)]
    alone = [call(url + "/v1/complete", b)[1] for b in bodies]
    with ThreadPoolExecutor(32) as pool:
        together = list(pool.map(lambda b: call(url + "/v1/complete", b), bodies))
    assert all(status == 200 for status, _ in together)
    for (_, got), want in zip(together, alone):
        assert got["completion"] == want["completion"]
        assert got["logprob"] == pytest.approx(want["logprob"], rel=1e-4)


def test_waiting_requests_run_as_one_batch_each_with_its_own_seed(tiny_model):
    saved = model_folder.load(tiny_model)
    d = Decoding(words=6, sample=True, until="eos")
    seeds = list(range(10))
    prompts = ["the cat", "a bird", "the dog sat on"]

    async def main():
        batcher = Batcher(lambda key, jobs: work.steps(saved, key, jobs), 256)
        await batcher.start()
        key = work.BatchKey("complete", d)
        results = await asyncio.gather(*[batcher.submit(key, prompts, s) for s in seeds])
        await batcher.stop()
        return results, batcher.batches

    results, batches = asyncio.run(main())
    assert batches == 1  # all ten were waiting: one pass through the network
    for seed, got in zip(seeds, results):
        want = complete(saved, prompts, Decoding(words=6, sample=True, until="eos", seed=seed))
        assert [json.loads(c)["completion"] for c in got] == [c.completion for c in want]


MB = 1 << 20


@pytest.mark.parametrize("path, body, status, field", [
    ("/v1/complete", b'{"prompt": "the cat", ', 400, None),  # malformed JSON
    ("/v1/complete", b"\xff\xfe not utf-8", 400, None),
    ("/v1/complete", [1, 2], 400, None),  # not an object
    ("/v1/complete", {"prompt": 5}, 400, "prompt"),  # wrong types
    ("/v1/complete", {"prompt": "the cat", "words": "3"}, 400, "words"),
    ("/v1/complete", {"prompt": "the cat", "sample": 1}, 400, "sample"),
    ("/v1/complete", {"prompt": "the cat", "words": 2.0}, 400, "words"),
    ("/v1/complete", {"prompt": "the cat", "wrds": 3}, 400, "wrds"),  # unknown field
    ("/v1/complete", {"prompt": "the cat", "model": "/etc/passwd"}, 400, "model"),
    ("/v1/complete", {"words": 3}, 400, "prompt"),  # missing
    ("/v1/complete", {"prompt": "   "}, 400, "prompt"),  # no words
    ("/v1/complete", {"prompt": "the cat", "words": -1}, 400, "words"),
    ("/v1/complete", {"prompt": "the cat", "next": -1}, 400, "next"),
    ("/v1/complete", {"prompt": "the cat", "words": 10 ** 6}, 400, "words"),
    ("/v1/complete", {"prompt": "the cat", "top_k": 3}, 400, "top_k"),  # needs sample
    ("/v1/complete", {"prompt": "the cat", "sample": True, "seed": -1}, 400, "seed"),
    ("/v1/complete", {"prompt": ["the cat"] * 65}, 400, "prompt"),
    ("/v1/complete", {"prompt": "the cat " * 600, "explain": True}, 400, "explain"),  # library
    ("/v1/complete", {"prompt": "the cat " * 610, "explain": True}, 400, "explain"),  # setting
    ("/v1/complete", {"prompt": "the cat " * MB}, 413, None),  # a body over the limit
    ("/v1/complete", b"x" * (10 * MB), 413, None),  # a 10 MB body
    ("/v1/complete", {"prompt": "the " * 262_000}, 400, "prompt"),  # 1 MB, too many tokens
    ("/v1/completions", {"prompt": "the cat", "max_tokens": -1}, 400, "max_tokens"),
    ("/v1/completions", {"prompt": "the cat", "temperature": "hot"}, 400, "temperature"),
    ("/v1/completions", {"prompt": "the cat", "logprobs": 9}, 400, "logprobs"),
    ("/v1/completions", {"prompt": "the cat", "best_of": 2}, 400, "best_of"),
    ("/v1/completions", {"prompt": [1, 2, 3]}, 400, "prompt"),
    ("/v1/score", {"sentence": "the cat", "prompt": "x"}, 400, "prompt"),
])
def test_bad_input_gets_a_json_error_naming_the_field_and_the_server_goes_on(
        server, path, body, status, field):
    url, _ = server
    got, answer = call(url + path, body)
    assert got == status, answer
    assert answer["error"]["param"] == field and answer["error"]["message"]
    if field:
        assert field in answer["error"]["message"]
    assert call(url + "/v1/complete", {"prompt": "the cat"})[1]["completion"] == "saw"


def test_the_page_and_its_files_are_served_from_the_package(server):
    import urllib.request

    url, _ = server
    html = urllib.request.urlopen(url + "/", timeout=30).read().decode()
    assert 'src="/static/app.js"' in html and "http" not in html.replace("http-equiv", "")
    for name in ("app.js", "style.css"):
        text = urllib.request.urlopen(f"{url}/static/{name}", timeout=30).read().decode()
        assert "http://" not in text and "https://" not in text  # nothing fetched elsewhere
    assert call(url + "/static/../../model_folder.py")[0] == 404


@pytest.mark.parametrize("path, body, texts", [
    ("/v1/complete", {"prompt": ["the cat", "a dog sat"], "words": 2, "explain": True}, 2),
    ("/v1/completions", {"prompt": ["the cat", "a dog"], "max_tokens": 2, "logprobs": 2,
                         "n": 2}, 2),
    ("/v1/score", {"sentence": ["the cat sat", "a dog"]}, 2),
])
def test_a_request_s_texts_are_tokenised_once(server, monkeypatch, path, body, texts):
    """Checked, explained, completed, scored, given log-probabilities and answered: the
    tokens split when the request was checked serve every step after."""
    import rnncli.infer.predict as predict
    splits = []

    def counting(kind, unk, version):
        split = tokenizer(kind, unk, version)
        return lambda text, lowercase: splits.append(text) or split(text, lowercase)

    tokenizer = predict.tokenizer
    monkeypatch.setattr(predict, "tokenizer", counting)
    url, _ = server
    status, answer = call(url + path, body)
    assert status == 200, answer
    assert len(splits) == texts
