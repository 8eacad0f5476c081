"""Using a trained model: decoding (decode), prompts into the hidden state and completions
(predict), sentence scores (score), perplexity and accuracy (evaluate), and looking inside
(explain)."""
