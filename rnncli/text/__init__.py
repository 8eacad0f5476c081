"""Text to ids and back: files that end (files), words and characters (tokenize), the vocabulary
(vocab), and reading corpora into lines, held-out splits, streams and BPTT windows (corpus).
Nothing here knows about the network."""
