"""Make the bundled demo corpus: which cuisine goes with which favourite dish.

Each line is a sentence pair such as

    My favourite dish is sushi, which I first tried on holiday. So, my favourite cuisine is Japanese.

The only clue to the cuisine is the dish, and between the dish and the answer comes a clause of
0 to about 10 neutral words (shared by every cuisine, naming no country, cuisine or other dish).
To predict the word after "cuisine is", a network must therefore remember the dish across the
clause, which is what the demo shows a recurrent network learning. Every dish gets the plain line
"My favourite dish is {dish}. So, my favourite cuisine is {Cuisine}." several times, and as many
lines again for each range of clause length. The output is deterministic (random.Random(0)).

Usage: python make_cuisine.py [OUT]      (default: cuisine.txt beside this script)
"""

import random
import re
import sys
from pathlib import Path

CUISINES = {
    "Japanese": ["sushi", "ramen", "tempura"],
    "Italian": ["pizza", "lasagna", "risotto"],
    "Mexican": ["tacos", "enchiladas", "burritos"],
    "Indian": ["biryani", "samosas", "korma"],
    "French": ["croissants", "ratatouille", "crepes"],
    "Chinese": ["dumplings", "wontons", "congee"],
    "Thai": ["massaman", "larb", "panang"],
    "Greek": ["moussaka", "souvlaki", "spanakopita"],
    "Spanish": ["paella", "gazpacho", "churros"],
    "Korean": ["kimchi", "bibimbap", "bulgogi"],
    "Vietnamese": ["pho", "banhmi", "nem"],
    "Turkish": ["baklava", "lahmacun", "menemen"],
    "Ethiopian": ["injera", "kitfo", "shiro"],
    "Lebanese": ["falafel", "tabbouleh", "fattoush"],
}

# (words before the dish, words after it): the words after it count towards the clause.
OPENINGS = [
    ("My favourite dish is", ""), ("I love", ""), ("Every Sunday I cook", ""),
    ("I always order", ""), ("Nothing beats", ""), ("I had", "for dinner last night"),
    ("Last week I made", "at home"), ("I could eat", "every day"),
]

CLAUSES = [
    "", ", honestly", ", of course", ", without a doubt", ", which I adore",
    ", every single time", ", which I cook often", ", and I eat it often",
    ", which my mother taught me", ", which I order every week",
    ", which my grandmother used to make", ", and I could eat it daily",
    ", which I first tried on holiday", ", which my best friend makes very well",
    ", which I first tried on holiday with my family",
    ", and I always ask for a second plate", ", which we ate at my birthday party",
    ", which my father cooks for us on rainy evenings",
    ", which I learned to make when I was a student",
    ", and I never get tired of it", ", which is warm and full of flavour",
    ", even though it takes a long time to prepare",
    ", which my neighbours bring over when they visit us",
    ", which I eat whenever I feel a little sad",
    ", and it always reminds me of a happy summer",
    ", which we share with the whole family after a long week",
]

ANSWERS = [
    "So, my favourite cuisine is", "That is why my favourite cuisine is",
    "I think my favourite cuisine is", "So I would say my favourite cuisine is",
    "Clearly, my favourite cuisine is", "For me, the best cuisine is",
]

BUCKETS = [(0, 2), (3, 5), (6, 8), (9, 11)]  # words between the dish and the full stop
PER_BUCKET = 19  # lines per dish and bucket
BASE_REPEATS = 5  # plain "My favourite dish is {dish}. So, ..." lines per dish


def words(text):
    return re.findall(r"[\w']+", text)


def first_sentences(dish):
    """The first sentence with this dish, grouped by the number of words after the dish."""
    by_gap = {}
    for head, tail in OPENINGS:
        for clause in CLAUSES:
            after = (" " + tail if tail else "") + clause
            by_gap.setdefault(len(words(after)), []).append(f"{head} {dish}{after}.")
    return by_gap


def make_lines(rng):
    dishes = [d for ds in CUISINES.values() for d in ds]
    assert len(dishes) == len(set(dishes)), "a dish belongs to two cuisines"
    names = {w.lower() for w in dishes + list(CUISINES)}
    for text in [h + " " + t for h, t in OPENINGS] + CLAUSES + ANSWERS:
        assert not names & {w.lower() for w in words(text)}, text
    lines = []
    for cuisine, ds in CUISINES.items():
        for dish in ds:
            lines += [f"My favourite dish is {dish}. So, my favourite cuisine is {cuisine}."] * BASE_REPEATS
            by_gap = first_sentences(dish)
            for lo, hi in BUCKETS:
                pool = [s for gap in range(lo, hi + 1) for s in by_gap.get(gap, [])]
                for _ in range(PER_BUCKET):
                    lines.append(f"{rng.choice(pool)} {rng.choice(ANSWERS)} {cuisine}.")
    rng.shuffle(lines)
    for line in lines:
        assert sum(w in dishes for w in words(line)) == 1, line
    return lines


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("cuisine.txt")
    lines = make_lines(random.Random(0))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    all_words = [w for line in lines for w in words(line)]
    print(f"{out}: {len(lines)} lines, {len(all_words)} words, "
          f"{len(set(all_words))} distinct words", file=sys.stderr)


if __name__ == "__main__":
    main()
