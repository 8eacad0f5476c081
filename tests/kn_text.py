"""A small text for the n-gram tests, the same on every machine (no random library: a linear
congruential generator), skewed like language so that every count-of-count n_1..n_4 is
non-zero and Kneser-Ney's discounts come from the formula, not lmplz's fallback."""

WORDS = ("the a cat dog sat ran on in mat log tree bird sang saw and then it was big small "
         "red old house garden fox jumped over quickly home .").split()
WORDS += [f"w{i}" for i in range(170)]  # a long tail of rare words


def kn_lines(n_lines: int = 300, seed: int = 12345) -> list[str]:
    state = seed
    lines = []
    for _ in range(n_lines):
        state = (1103515245 * state + 12345) % 2**31
        length = 2 + state % 9
        words = []
        for _ in range(length):
            state = (1103515245 * state + 12345) % 2**31
            u = state / 2**31
            words.append(WORDS[int(len(WORDS) * u ** 3)])  # the first words most often
        lines.append(" ".join(words))
    return lines
