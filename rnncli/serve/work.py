"""What one batch does, in the model's thread: the library's complete and score over the texts of
every request in the batch at once, the answers handed back request by request.

Work comes in slices (a generator that yields between them), so that the batcher can answer
other requests in between: a plain completion or score is one slice for the whole batch; a
trace is one slice per prompt; an explanation yields between batches of SLICE_CELLS cells of
its paths and replacements. JSON answers are encoded here, slice by slice, rather than all at
once on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Generator

from rnncli.infer.decode import prompt_rngs
from rnncli.infer.predict import complete_steps, split_texts
from rnncli.infer.score import continuation_logprobs, score
from rnncli.serve.batcher import Job
from rnncli.store.model_folder import SavedModel

SLICE_CELLS = 1 << 10  # (step, row) cells of explain's work per slice (milliseconds)


def encode(answer: dict) -> bytes:
    """One answer as JSON (UTF-8, a non-finite number refused: it is not JSON)."""
    return json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")


def costly(key: tuple) -> bool:
    """Work that runs in many slices, each request on its own (explain, trace)."""
    return key[0] == "complete" and (key[3] or key[4])


def steps(saved: SavedModel, key: tuple, jobs: list[Job]) -> Generator[None, None, list[list]]:
    """Answer a group of jobs that share `key`, in slices:
    ("score",) -> a SentenceScore's JSON per text;
    ("complete", decoding, next_k, explain, trace) -> a Completion's JSON per text;
    ("openai", decoding, top) -> (Completion, per-token log-probabilities or None) per text."""
    texts = [x for job in jobs for x in job.texts]
    if key[0] == "score":
        results = [encode(s.to_dict()) for s in score(saved, texts)]
    else:
        d = key[1]
        # each request's prompts seeded by its own seed and their place in it, as the CLI
        # seeds the prompts of one input: the same request gives the same answer, batched or not
        rngs = [r for job in jobs for r in prompt_rngs(job.extra, 0, len(job.texts))]
        rngs = rngs if d.sample else None
        if key[0] == "openai":
            results = yield from complete_steps(saved, texts, d, rngs=rngs)
            top = key[2]
            if top is None:
                results = [(c, None) for c in results]
            else:
                toks = split_texts(saved, texts, "prompt")
                logprobs = continuation_logprobs(saved, toks, [c.tokens for c in results], top)
                results = list(zip(results, logprobs))
        else:
            _, d, next_k, explain, trace = key
            options = dict(next_k=next_k, explain=explain, trace=trace, cells=SLICE_CELLS)
            if trace:  # a long trace is the costly part: one prompt at a time
                results = []
                for i, text in enumerate(texts):
                    yield
                    (c,) = yield from complete_steps(
                        saved, [text], d, rngs=rngs[i: i + 1] if rngs else None, **options)
                    results.append(encode(c.to_dict()))
            else:
                done = yield from complete_steps(saved, texts, d, rngs=rngs, **options)
                results = [encode(c.to_dict()) for c in done]
    out, i = [], 0
    for job in jobs:
        out.append(results[i: i + len(job.texts)])
        i += len(job.texts)
    return out
