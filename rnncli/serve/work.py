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
from dataclasses import dataclass

from rnncli.infer.decode import Decoding, prompt_rngs
from rnncli.infer.predict import complete_steps, split_texts
from rnncli.infer.score import continuation_logprobs, score
from rnncli.serve.batcher import Job
from rnncli.store.model_folder import SavedModel

SLICE_CELLS = 1 << 10  # (step, row) cells of explain's work per slice (milliseconds)


def encode(answer: dict) -> bytes:
    """One answer as JSON (UTF-8, a non-finite number refused: it is not JSON)."""
    return json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")


@dataclass(frozen=True)
class BatchKey:
    """What requests must share to run as one batch: the batcher groups jobs by equal keys.

    Attributes:
        task: "score" (a SentenceScore's JSON per text), "complete" (a Completion's JSON per
            text) or "openai" ((Completion, log-probabilities or None) per text)
        decoding: complete's options, the seed left out (each request keeps its own)
        next_k, explain, trace: complete's keyword arguments
        top: OpenAI's logprobs: also each completed token's log-probability and the `top`
            likeliest at its step; None: not asked
    """

    task: str
    decoding: Decoding | None = None
    next_k: int = 0
    explain: bool = False
    trace: bool = False
    top: int | None = None

    @property
    def costly(self) -> bool:
        """Work that runs in many slices, each request on its own (explain, trace)."""
        return self.task == "complete" and (self.explain or self.trace)


SCORE = BatchKey("score")


def steps(saved: SavedModel, key: BatchKey,
          jobs: list[Job]) -> Generator[None, None, list[list]]:
    """Answer a group of jobs that share `key`, in slices: per text what key.task says."""
    texts = [x for job in jobs for x in job.texts]
    toks = None  # each text split once, when its request was checked
    if all(job.tokens is not None for job in jobs):
        toks = [t for job in jobs for t in job.tokens]
    if key.task == "score":
        results = [encode(s.to_dict()) for s in score(saved, texts, toks)]
    else:
        d = key.decoding
        # each request's prompts seeded by its own seed and their place in it, as the CLI
        # seeds the prompts of one input: the same request gives the same answer, batched or not
        rngs = [r for job in jobs for r in prompt_rngs(job.extra, 0, len(job.texts))]
        rngs = rngs if d.sample else None
        if key.task == "openai":
            results = yield from complete_steps(saved, texts, d, rngs=rngs, toks=toks)
            if key.top is None:
                results = [(c, None) for c in results]
            else:
                toks = toks or split_texts(saved, texts, "prompt")
                logprobs = continuation_logprobs(saved, toks, [c.tokens for c in results],
                                                 key.top)
                results = list(zip(results, logprobs))
        else:
            options = dict(next_k=key.next_k, explain=key.explain, trace=key.trace,
                           cells=SLICE_CELLS)
            if key.trace:  # a long trace is the costly part: one prompt at a time
                results = []
                for i, text in enumerate(texts):
                    yield
                    (c,) = yield from complete_steps(
                        saved, [text], d, rngs=rngs[i: i + 1] if rngs else None,
                        toks=toks[i: i + 1] if toks else None, **options)
                    results.append(encode(c.to_dict()))
            else:
                done = yield from complete_steps(saved, texts, d, rngs=rngs, toks=toks,
                                                 **options)
                results = [encode(c.to_dict()) for c in done]
    out, i = [], 0
    for job in jobs:
        out.append(results[i: i + len(job.texts)])
        i += len(job.texts)
    return out
