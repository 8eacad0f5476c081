"""Samples while training: each of train.sample_prompts completed by the model as it is now."""

from __future__ import annotations

SAMPLE_WORDS = 20  # at most this many words per completion, to the end of the sentence


def complete_prompts(model, vocab, config, prompts: list[str]) -> list[str]:
    """The greedy completion of each prompt, to the end of its sentence (or SAMPLE_WORDS)."""
    from rnncli.infer.decode import Decoding
    from rnncli.infer.predict import complete
    from rnncli.store.model_folder import SavedModel

    saved = SavedModel(model, vocab, config)
    results = complete(saved, list(prompts), Decoding(words=SAMPLE_WORDS, until="sentence"))
    return [r.completion for r in results]
