"""The n-gram baseline: interpolated modified Kneser-Ney in NumPy, and its mix with the network."""
