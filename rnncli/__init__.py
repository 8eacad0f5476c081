"""rnncli: a recurrent neural network language model in plain NumPy, trained from a YAML config."""

__version__ = "0.1.0"
