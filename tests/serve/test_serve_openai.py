"""/v1/completions and /v1/models, driven by OpenAI's own Python client as a user's program
would drive it (base_url pointed at the server)."""

import openai
import pytest
from serving import served

from rnncli.infer.score import score
from rnncli.store import model_folder


@pytest.fixture(scope="module")
def client(tiny_model):
    with served(tiny_model) as (url, _):
        yield openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_lists_the_served_model(client, tiny_model):
    assert [m.id for m in client.models.list().data] == [tiny_model.name]


def test_greedy_completion_continues_the_prompt(client, tiny_model):
    r = client.completions.create(model=tiny_model.name, prompt="the cat sat on the",
                                  max_tokens=5, temperature=0)
    (choice,) = r.choices
    assert choice.text == " mat." and choice.finish_reason == "stop"  # the line ended
    assert r.usage.prompt_tokens == 5 and r.usage.completion_tokens == 2
    cut = client.completions.create(model="m", prompt="the cat sat on the", max_tokens=1,
                                    temperature=0)
    assert cut.choices[0].text == " mat" and cut.choices[0].finish_reason == "length"


def test_prompts_n_seed_and_stop(client):
    prompts = ["the cat", "a bird"]
    kwargs = dict(model="m", prompt=prompts, max_tokens=8, n=3, seed=11, temperature=1.5)
    first = client.completions.create(**kwargs)
    again = client.completions.create(**kwargs)
    assert [c.index for c in first.choices] == list(range(6))
    assert [c.text for c in first.choices] == [c.text for c in again.choices]
    stopped = client.completions.create(model="m", prompt="the cat sat on the", max_tokens=8,
                                        temperature=0, stop=["."])
    assert stopped.choices[0].text == " mat" and stopped.choices[0].finish_reason == "stop"


def test_logprobs_are_the_model_s_own(client, tiny_model):
    r = client.completions.create(model="m", prompt="the cat sat on the", max_tokens=3,
                                  temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    assert "".join(lp.tokens) == r.choices[0].text == " mat."
    assert lp.text_offset == [18, 22]
    # the whole line's score, minus its prompt's and its end's: the completion's tokens
    saved = model_folder.load(tiny_model)
    (line,) = score(saved, ["the cat sat on the mat ."])
    want = [t.surprisal_bits for t in line.tokens[5:7]]
    got = [-x / 0.6931471805599453 for x in lp.token_logprobs]
    assert got == pytest.approx(want, rel=1e-4)
    for chosen, top in zip(lp.token_logprobs, lp.top_logprobs):
        assert len(top) == 2 and max(top.values()) == pytest.approx(chosen)  # greedy


def test_bad_requests_raise_the_client_s_own_error(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="m", prompt="the cat", max_tokens=-3)
    assert e.value.body["param"] == "max_tokens"
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="m", prompt="the cat", extra_body={"best_of": 2})
    assert client.completions.create(model="m", prompt="the cat", max_tokens=1).choices
