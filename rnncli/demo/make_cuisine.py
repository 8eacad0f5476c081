"""Make the bundled demo corpus: which cuisine goes with which favourite dish.

Most lines are a sentence pair such as

    My favourite dish is sushi, which I first tried on holiday. So, my favourite cuisine is
    Japanese.

The only clue to the cuisine is the dish, and between the dish and the answer comes a clause of
0 to 9 neutral words (shared by every cuisine, naming no country, cuisine or other dish), then
the answer phrase. To predict the word after "cuisine is", a network must therefore remember the
dish across the clause, which is what the demo shows a recurrent network learning.

Why the corpus also holds a "ladder" of short lines
---------------------------------------------------
Even with no clause, ". So , my favourite cuisine is" puts 7 tokens between the dish and the
answer. A vanilla tanh RNN trained with plain SGD starts with a recurrent matrix of spectral
radius about 0.6, so the gradient that would teach it to keep the dish in mind for 7 or more
steps has shrunk to almost nothing by the time it reaches the dish (the vanishing gradient):
trained on the sentence pairs alone, it stays at chance however long it trains. So every dish
also gets a ladder of lines in which the cuisine follows the dish after 1, 2, 3, ... 7 tokens:

    Sushi is Japanese.                                           (1 token between)
    Sushi is really Japanese.                                    (2)
    My favourite dish is sushi, which is Japanese.               (3)
    My favourite dish is sushi. It is Japanese.                  (3)
    My favourite dish is sushi. So it is Japanese.               (4)
    My favourite dish is sushi. So, it is Japanese.              (5)
    My favourite dish is sushi. So, my cuisine is Japanese.      (6)
    My favourite dish is sushi. So, my favourite cuisine is Japanese.   (7)

The short rungs are learned first, and each one makes the next a small step further: the memory
of the dish grows one token at a time until it reaches across the clauses too. Without the ladder
the same network, settings and training time stay at chance (about 1 in 10).

The output is deterministic (random.Random(0)) and needs only the standard library.

Usage: python make_cuisine.py [OUT]      (default: cuisine.txt beside this script)
"""

import random
import re
import sys
from pathlib import Path

CUISINES = {
    "Japanese": ["sushi", "ramen"],
    "Italian": ["pizza", "lasagna"],
    "Mexican": ["tacos", "enchiladas"],
    "Indian": ["biryani", "samosas"],
    "French": ["croissants", "ratatouille"],
    "Chinese": ["dumplings", "wontons"],
    "Thai": ["massaman", "larb"],
    "Greek": ["moussaka", "souvlaki"],
    "Spanish": ["paella", "gazpacho"],
    "Korean": ["kimchi", "bibimbap"],
}

OPENINGS = ["My favourite dish is", "I love", "Every Sunday I cook"]

# Between the dish and the full stop: 0 to 9 words.
CLAUSES = [
    "", ", honestly", ", of course", ", which I adore", ", and I eat it often",
    ", which my mother taught me", ", which I first tried on holiday",
    ", which my grandmother used to make for us",
    ", which I first tried on holiday with my family",
    ", and I always ask for a second plate",
    ", which my father cooks for us on rainy evenings",
]

ANSWERS = ["So, my favourite cuisine is", "That is why my favourite cuisine is"]

# The ladder (see above): the cuisine 1, 2, ... 7 tokens after the dish.
LADDER = [
    "{Dish} is {cuisine}.",
    "{Dish} is really {cuisine}.",
    "My favourite dish is {dish}, which is {cuisine}.",
    "My favourite dish is {dish}. It is {cuisine}.",
    "My favourite dish is {dish}. So it is {cuisine}.",
    "My favourite dish is {dish}. So, it is {cuisine}.",
    "My favourite dish is {dish}. So, my cuisine is {cuisine}.",
    "My favourite dish is {dish}. So, my favourite cuisine is {cuisine}.",
]

LADDER_REPEATS = 22  # lines per dish and rung
PER_CLAUSE = 8  # sentence pairs per dish and clause (opening and answer drawn at random)


def words(text):
    return re.findall(r"[\w']+", text)


def make_lines(rng):
    dishes = [d for ds in CUISINES.values() for d in ds]
    assert len(dishes) == len(set(dishes)), "a dish belongs to two cuisines"
    names = {w.lower() for w in dishes + list(CUISINES)}
    fixed = [t.format(dish="", Dish="", cuisine="") for t in LADDER]
    for text in OPENINGS + CLAUSES + ANSWERS + fixed:
        assert not names & {w.lower() for w in words(text)}, text
    lines = []
    for cuisine, ds in CUISINES.items():
        for dish in ds:
            for rung in LADDER:
                line = rung.format(dish=dish, Dish=dish.capitalize(), cuisine=cuisine)
                lines += [line] * LADDER_REPEATS
            for clause in CLAUSES:
                for _ in range(PER_CLAUSE):
                    lines.append(f"{rng.choice(OPENINGS)} {dish}{clause}. "
                                 f"{rng.choice(ANSWERS)} {cuisine}.")
    rng.shuffle(lines)
    for line in lines:
        assert sum(w.lower() in dishes for w in words(line)) == 1, line
    assert "My favourite dish is sushi. So, my favourite cuisine is Japanese." in lines
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
