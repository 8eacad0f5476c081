"""What one batch does, in the model's thread: the library's complete and score over the texts of
every request in the batch at once, the answers handed back request by request."""

from __future__ import annotations

from dataclasses import dataclass

from rnncli.infer.decode import Decoding, prompt_rngs
from rnncli.infer.predict import complete, split_texts
from rnncli.infer.score import continuation_logprobs, score
from rnncli.serve.batcher import Job
from rnncli.store.model_folder import SavedModel


@dataclass(frozen=True)
class BatchKey:
    """What requests must share to run as one batch: the batcher groups jobs by equal keys.

    Attributes:
        task: "score" (a SentenceScore per text) or "complete" (a Completion per text)
        decoding: complete's options, the seed left out (each request keeps its own)
        next_k, explain, trace: complete's keyword arguments
        top: OpenAI's logprobs: also each completed token's log-probability and the `top`
            likeliest at its step, as (Completion, log-probabilities) pairs; None: not asked
    """

    task: str
    decoding: Decoding | None = None
    next_k: int = 0
    explain: bool = False
    trace: bool = False
    top: int | None = None


SCORE = BatchKey("score")


def run(saved: SavedModel, key: BatchKey, jobs: list[Job]) -> list[list]:
    """Answer a group of jobs that share `key`: per text a SentenceScore (key.task "score"),
    a Completion, or (Completion, per-token log-probabilities) when key.top is not None."""
    texts = [x for job in jobs for x in job.texts]
    toks = None  # each text split once, when its request was checked
    if all(job.tokens is not None for job in jobs):
        toks = [t for job in jobs for t in job.tokens]
    if key.task == "score":
        results = score(saved, texts, toks)
    else:
        d, top = key.decoding, key.top
        # each request's prompts seeded by its own seed and their place in it, as the CLI
        # seeds the prompts of one input: the same request gives the same answer, batched or not
        rngs = [r for job in jobs for r in prompt_rngs(job.extra, 0, len(job.texts))]
        results = complete(saved, texts, d, next_k=key.next_k, explain=key.explain,
                           trace=key.trace,
                           rngs=rngs if d.sample else None, toks=toks)
        if top is not None:
            toks = toks or split_texts(saved, texts, "prompt")
            logprobs = continuation_logprobs(saved, toks, [c.tokens for c in results], top)
            results = list(zip(results, logprobs))
    out, i = [], 0
    for job in jobs:
        out.append(results[i: i + len(job.texts)])
        i += len(job.texts)
    return out
