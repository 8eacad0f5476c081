"""/v1/completions and /v1/models, driven by OpenAI's own Python client (sync, async,
streaming) and by langchain-openai, as a user's program would drive them (base_url pointed at
the server)."""

import asyncio

import openai
import pytest
from serving import call, served

from rnncli.infer.score import score
from rnncli.store import model_folder


@pytest.fixture(scope="module")
def server(tiny_model):
    with served(tiny_model) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_lists_the_served_model(client, tiny_model):
    assert [m.id for m in client.models.list().data] == [tiny_model.name]


def test_greedy_completion_continues_the_prompt(client, tiny_model):
    r = client.completions.create(model=tiny_model.name, prompt="the cat sat on the",
                                  max_tokens=5, temperature=0)
    (choice,) = r.choices
    # the line ended, spaced as the corpus spaces it ("the mat .")
    assert choice.text == " mat ." and choice.finish_reason == "stop"
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
    # the corpus writes "the mat .": the text up to the stop string keeps the space before it
    assert stopped.choices[0].text == " mat " and stopped.choices[0].finish_reason == "stop"
    assert stopped.usage.completion_tokens == 2  # " mat" and the space of " ." returned


def test_a_stop_string_inside_a_token_cuts_it_and_counts_it(client):
    whole = client.completions.create(model="m", prompt="the cat", max_tokens=6, temperature=0)
    text = whole.choices[0].text  # " sat on the mat." or the like: several tokens
    words = text.split()
    assert len(words) >= 3, text
    stop = words[1][1:]  # inside the second word: the text ends within it
    cut = client.completions.create(model="m", prompt="the cat", max_tokens=6, temperature=0,
                                    stop=stop, logprobs=1)
    assert cut.choices[0].text == text[: text.index(stop)]
    assert cut.usage.completion_tokens == 2 == len(cut.choices[0].logprobs.tokens)


def test_logprobs_are_the_model_s_own(client, tiny_model):
    r = client.completions.create(model="m", prompt="the cat sat on the", max_tokens=3,
                                  temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    assert "".join(lp.tokens) == r.choices[0].text == " mat ."
    assert lp.text_offset == [18, 22]
    # the whole line's score, minus its prompt's and its end's: the completion's tokens
    saved = model_folder.load(tiny_model)
    (line,) = score(saved, ["the cat sat on the mat ."])
    want = [t.surprisal_bits for t in line.tokens[5:7]]
    got = [-x / 0.6931471805599453 for x in lp.token_logprobs]
    assert got == pytest.approx(want, rel=1e-4)
    for token, chosen, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert len(top) == 2 and max(top.values()) == pytest.approx(chosen)  # greedy
        assert max(top, key=top.get) == token  # keyed as written: " mat", "."


def test_bad_requests_raise_the_client_s_own_error(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="m", prompt="the cat", max_tokens=-3)
    assert e.value.body["param"] == "max_tokens"
    for field, value in (("best_of", 2), ("frequency_penalty", 0.5), ("echo", True),
                         ("logit_bias", {"50256": -100}), ("suffix", "x")):
        with pytest.raises(openai.BadRequestError) as e:
            client.completions.create(model="m", prompt="the cat", **{field: value})
        assert e.value.body["param"] == field and field in e.value.body["message"]
    assert client.completions.create(model="m", prompt="the cat", max_tokens=1).choices


def test_neutral_values_of_unimplemented_fields_are_accepted(client):
    plain = client.completions.create(model="m", prompt="the cat", max_tokens=3, temperature=0)
    neutral = client.completions.create(
        model="m", prompt="the cat", max_tokens=3, temperature=0, frequency_penalty=0,
        presence_penalty=0, best_of=1, echo=False, user="someone", suffix=None, logit_bias={})
    assert neutral.choices[0].text == plain.choices[0].text


def test_streaming_sends_the_same_text_token_by_token(client):
    whole = client.completions.create(model="m", prompt=["the cat", "a bird"], max_tokens=6,
                                      temperature=0, logprobs=1)
    chunks = list(client.completions.create(
        model="m", prompt=["the cat", "a bird"], max_tokens=6, temperature=0, logprobs=1,
        stream=True, stream_options={"include_usage": True}))
    texts, finish, tokens = ["", ""], [None, None], [[], []]
    for chunk in chunks[:-1]:
        (choice,) = chunk.choices
        texts[choice.index] += choice.text
        if choice.finish_reason:
            finish[choice.index] = choice.finish_reason
        elif choice.logprobs:
            tokens[choice.index] += choice.logprobs.tokens
    assert texts == [c.text for c in whole.choices]
    assert finish == [c.finish_reason for c in whole.choices]
    assert tokens == [c.logprobs.tokens for c in whole.choices]
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_the_async_client_streams_too(server):
    async def main():
        client = openai.AsyncOpenAI(base_url=server + "/v1", api_key="unused", max_retries=0)
        whole = await client.completions.create(model="m", prompt="the dog", max_tokens=5,
                                                temperature=0)
        stream = await client.completions.create(model="m", prompt="the dog", max_tokens=5,
                                                 temperature=0, stream=True)
        text = "".join([chunk.choices[0].text async for chunk in stream])
        await client.close()
        return whole.choices[0].text, text

    whole, streamed = asyncio.run(main())
    assert whole == streamed == " sat on the log ."


def test_langchain_s_openai_llm_works_unchanged(server):
    from langchain_openai import OpenAI

    llm = OpenAI(base_url=server + "/v1", api_key="unused", model="m", temperature=0,
                 max_tokens=5, max_retries=0)
    assert llm.invoke("the cat sat on the") == " mat ."  # spaced as the corpus spaces it
    assert "".join(llm.stream("the dog sat on the")) == " log ."


def test_chat_completions_say_where_to_go(server):
    status, answer = call(server + "/v1/chat/completions", {"messages": []})
    assert status == 404 and "/v1/completions" in answer["error"]["message"]
