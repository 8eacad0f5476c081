import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncli.text.tokenize import EOS, detokenize, split_chars, split_words, tokenize_lines
from rnncli.text.words import JOINER


@pytest.mark.parametrize("text, tokens", [
    ("My favourite dish is sushi.", ["My", "favourite", "dish", "is", "sushi", "."]),
    ("So, my favourite cuisine is", ["So", ",", "my", "favourite", "cuisine", "is"]),
    ("I don't know", ["I", "don't", "know"]),
    ("It’s fine", ["It’s", "fine"]),  # typographic apostrophe
    ("пам'ять і мова", ["пам'ять", "і", "мова"]),  # Ukrainian, apostrophe inside the word
    ("Привет, мир!", ["Привет", ",", "мир", "!"]),
    ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),  # combining vowel signs stay in the word
    ("café crème", ["café", "crème"]),
    ("'quoted'", ["'", "quoted", "'"]),  # apostrophes at the edges are punctuation
    ("3.5 km", ["3", ".", "5", "km"]),
    ("a+b=c", ["a", "+", "b", "=", "c"]),
    ("well-known", ["well", "-", "known"]),
    ("", []),
])
def test_version_1_split_words(text, tokens):  # the tokeniser of models saved before versions
    assert split_words(text) == tokens


def test_lowercase():
    assert split_words("Sushi IS Japanese", lowercase=True) == ["sushi", "is", "japanese"]


def test_tokenize_lines_ends_each_line_and_skips_blank_ones():
    assert list(tokenize_lines(["a b", "  ", "c.\n"], version=1)) == ["a", "b", EOS, "c", ".",
                                                                      EOS]
    assert list(tokenize_lines(["a b", "  ", "c.\n"])) == ["a", "b", EOS, "c", JOINER + ".", EOS]
    assert list(tokenize_lines(["ab"], kind="char")) == ["a", "b", EOS]


@pytest.mark.parametrize("text", [
    "My favourite dish is sushi. So, my favourite cuisine is Japanese.",
    "He said \"hello\" (twice) and left!",
    "Is it well-known? Yes: it's 50% off.",
    "¿Qué tal? «Très bien», merci.",
])
def test_version_1_detokenize_guesses_natural_spacing(text):
    assert detokenize(split_words(text), version=1) == text


def test_detokenize_lines_and_chars():
    assert detokenize(["Japanese", ".", EOS, "Yes"], version=1) == "Japanese.\nYes"
    assert detokenize(split_chars("a b,c"), kind="char") == "a b,c"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_split_never_raises_and_round_trips_through_detokenize(text):
    tokens = split_words(text)
    assert all(t and not t.isspace() for t in tokens)
    assert split_words(detokenize(tokens, version=1)) == tokens


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_chars_round_trip_exactly(text):
    text = text.replace("\n", " ").replace("\r", " ")
    assert detokenize(split_chars(text), kind="char") == text
