"""The word tokeniser, version 2: what a reader sees as one word stays one token, and the
spacing between tokens comes back as it was written."""

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncli.text.tokenize import EOS, UNK, continues, detokenize, tokenizer
from rnncli.text.words import JOINER, bare, spaced, split

J = JOINER


@pytest.mark.parametrize("text, token", [
    ("Pi is 3.14 today", "3.14"),
    ("It costs 5,000 now", "5,000"),
    ("a total of 1,250.00 euros", "1,250.00"),
    ("e is 2.718 or so", "2.718"),
    ("at 9:30 sharp", "9:30"),
    ("ran it in 2:01:09 flat", "2:01:09"),
    ("write to john.doe@example.com today", "john.doe@example.com"),
    ("or support+billing@mail.example.co.uk please", "support+billing@mail.example.co.uk"),
    ("visit https://example.com/path now", "https://example.com/path"),
    ("see www.example.org/docs?page=2&lang=en here", "www.example.org/docs?page=2&lang=en"),
    ("at 9 a.m. on Monday", "a.m."),
    ("food, e.g. rent", "e.g."),
    ("the U.S. and", "U.S."),
    ("give 'em hell", "'em"),
    ("'tis the season", "'tis"),
    ("we're goin' home", "goin'"),
    ("the kings' crowns", "kings'"),
    ("a well-known dish", "well-known"),
    ("it is state-of-the-art now", "state-of-the-art"),
    ("I don't know", "don't"),
    ("пам'ять і мова", "пам'ять"),  # Ukrainian: inner apostrophes, all three forms
    ("пам’ять і мова", "пам’ять"),
    ("памʼять і мова", "памʼять"),
    ("ціна 3,50 грн о 9:30", "3,50"),  # the same rules in any script
    ("ціна 3,50 грн о 9:30", "9:30"),
    ("напишіть на олена@приклад.укр сьогодні", "олена@приклад.укр"),
    ("чорно-білий кіт", "чорно-білий"),
    ("数字 ٣٫١٤ and ३.१४", "३.१४"),  # digits of other scripts are digits
])
def test_a_reader_s_word_is_one_token(text, token):
    assert token in [bare(t) for t in split(text)]


@pytest.mark.parametrize("text, tokens", [
    ("sushi.", ["sushi", J + "."]),
    ("So, my", ["So", J + ",", "my"]),
    ("(twice)", ["(" + J, "twice", J + ")"]),
    ('"hello"', ['"' + J, "hello", J + '"']),
    ("$5,000", ["$" + J, "5,000"]),
    ("50% off", ["50", J + "%", "off"]),
    ("3. 14", ["3", J + ".", "14"]),  # the numbers stay apart where the text has a space
    ("mat .", ["mat", "."]),  # the corpus's own spacing, kept
    ("wait -- now...", ["wait", "--", "now", J + "..."]),
    ("His absolute 'shall'?", ["His", "absolute", "'" + J, "shall", J + "'", J + "?"]),
])
def test_marks_ride_on_punctuation_where_tokens_touch(text, tokens):
    assert split(text) == tokens
    assert detokenize(tokens) == text


def test_spaced_records_a_space_before_each_token():
    assert spaced("Hi, you (there)") == [("Hi", False), (",", False), ("you", True),
                                         ("(", True), ("there", False), (")", False)]


def test_the_unknown_word_is_one_token_and_takes_no_mark():
    assert split("a <unk> b.") == ["a", UNK, "b", J + "."]
    assert split("foo<unk>.") == ["foo" + J, UNK, J + "."]
    assert split("a _u_ b", unk_token="_u_") == ["a", UNK, "b"]
    assert tokenizer("word")("x <unk>") == ["x", UNK]


def test_lowercase_folds_the_words_not_the_unknown_word():
    assert split("Sushi IS <unk>.", lowercase=True) == ["sushi", "is", UNK, J + "."]


def test_lines_come_back_as_written():
    tokens = tokenizer("word")("It costs $5,000 at 9:30 a.m. (e-mail john@example.com).")
    assert detokenize(tokens + [EOS] + ["Yes", J + "!"]) == (
        "It costs $5,000 at 9:30 a.m. (e-mail john@example.com).\nYes!")


def test_a_continuation_is_joined_as_the_whole_line_would_be():
    assert continues("sushi", J + ".") == ""
    assert continues("is", "Japanese") == " "
    assert continues("(" + J, "twice") == ""
    assert continues(None, "Japanese") == ""
    assert continues("is", "Japanese", version=1) == " "
    assert continues("sushi", ".", version=1) == ""


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_any_text_splits_and_comes_back_with_its_spacing(text):
    # spacing (white space, separators, control characters) as one space between the rest
    line = regex.sub(r"[\s\p{Z}\p{Cc}]+", " ", text).strip()
    tokens = split(line)
    assert all(t and not t.isspace() for t in tokens)
    if JOINER not in line:  # a text using the mark itself may lose a space next to it
        assert detokenize(tokens) == line
    assert split(detokenize(tokens)) == tokens or JOINER in line
