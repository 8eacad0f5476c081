"""What one batch does, in the model's thread: the library's complete and score over the texts of
every request in the batch at once, the answers handed back request by request."""

from __future__ import annotations

from rnncli.infer.decode import prompt_rngs
from rnncli.infer.predict import complete, split_texts
from rnncli.infer.score import continuation_logprobs, score
from rnncli.serve.batcher import Job
from rnncli.store.model_folder import SavedModel


def run(saved: SavedModel, key: tuple, jobs: list[Job]) -> list[list]:
    """Answer a group of jobs that share `key` (see schema.CompleteRequest.key):
    ("score",) -> SentenceScore per text; ("complete", decoding, next_k, explain, trace, top) ->
    Completion per text, or (Completion, per-token log-probabilities) when top is not None."""
    texts = [x for job in jobs for x in job.texts]
    if key[0] == "score":
        results = score(saved, texts)
    else:
        _, d, next_k, explain, trace, top = key
        # each request's prompts seeded by its own seed and their place in it, as the CLI
        # seeds the prompts of one input: the same request gives the same answer, batched or not
        rngs = [r for job in jobs for r in prompt_rngs(job.extra, 0, len(job.texts))]
        results = complete(saved, texts, d, next_k=next_k, explain=explain, trace=trace,
                           rngs=rngs if d.sample else None)
        if top is not None:
            toks = split_texts(saved, texts, "prompt")
            logprobs = continuation_logprobs(saved, toks, [c.tokens for c in results], top)
            results = list(zip(results, logprobs))
    out, i = [], 0
    for job in jobs:
        out.append(results[i: i + len(job.texts)])
        i += len(job.texts)
    return out
