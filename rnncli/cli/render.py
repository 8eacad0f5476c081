"""Drawing a completion's insides in the terminal: next-word bars, explanations, hidden states.

Everything is drawn with characters, so it reads the same in a pipe, a log or with NO_COLOR;
colour (only where the console allows it) adds the sign. Machines read `--json` instead.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

BAR = 24  # the widest bar, in characters
EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks: a bar's length in eighths of a character
LEVELS = "▁▂▃▄▅▆▇█"  # a hidden unit's value, -1 (lowest) .. +1 (highest)
HEAT_COLUMNS = 64  # hidden units drawn per row; more are averaged in groups


def bar(fraction: float, width: int = BAR) -> str:
    """A horizontal bar `fraction` (0..1) of `width` characters long, to an eighth."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def _label_width(words: list[str], most: int = 16) -> int:
    return min(max((len(w) for w in words), default=1), most)


def _label(word: str, width: int) -> str:
    return (word if len(word) <= width else word[: width - 1] + "…").ljust(width)


def next_words(console: Console, nexts) -> None:
    """The likeliest next words (rnncli.infer.predict.NextWord), one per line: word,
    probability bar, probability."""
    w = _label_width([n.word for n in nexts])
    for n in nexts:
        line = Text(f"  {_label(n.word, w)} ")
        line.append(bar(n.prob), style="cyan")
        line.append(f" {n.prob:.3f}")
        console.print(line, highlight=False, soft_wrap=True)


def _signed_bar(value: float, top: float, width: int) -> Text:
    """█ for a positive value, ░ for a negative one, scaled so that `top` fills `width`."""
    if value >= 0:
        return Text(bar(value / top, width), style="green")
    return Text(bar(-value / top, width).replace("█", "░"), style="red")


def explanation(console: Console, c) -> None:
    """Each prompt word's part in the explained word: the score (log p lost if the word is
    replaced by what the prompt allows there) as a signed bar (█ for, ░ against) scaled to its
    largest value, with the value; beside it the gradient reaching the word, |grad|, as a bar
    scaled to its largest: the lesson's view, the vanishing gradient."""
    rows = c.explain
    console.print(f"why {c.explained!r}: score = log p({c.explained}) lost if the word is "
                  "replaced by what the rest of the prompt allows there; |grad| = the gradient "
                  "reaching the word (it vanishes with distance)", highlight=False, soft_wrap=True)
    w = _label_width([a.word for a in rows])
    half = BAR // 2
    values = [a.score for a in rows]
    texts = [f"{v:+.3f}" for v in values]
    tw = max(len(t) for t in texts)
    top = max((abs(v) for v in values), default=0.0) or 1.0
    g_top = max((a.grad_norm for a in rows), default=0.0) or 1.0
    console.print(f"  {'':{w}} {'score':<{half + 1 + tw}}  |grad|", highlight=False,
                  soft_wrap=True)
    for i, a in enumerate(rows):
        line = Text(f"  {_label(a.word, w)} ")
        line.append(_signed_bar(values[i], top, half))
        line.append(f" {texts[i]:>{tw}}  ")
        line.append(Text(bar(a.grad_norm / g_top, half), style="blue"))
        line.append(f" {a.grad_norm:.4f}")
        console.print(line, highlight=False, soft_wrap=True)


def _cells(h) -> list[float]:
    """At most HEAT_COLUMNS values: the hidden units, averaged in groups if there are more."""
    H = len(h)
    if H <= HEAT_COLUMNS:
        return [float(v) for v in h]
    edges = [round(i * H / HEAT_COLUMNS) for i in range(HEAT_COLUMNS + 1)]
    return [float(h[a:b].mean()) for a, b in zip(edges, edges[1:])]


def _heat_style(v: float) -> str:
    """Blue for negative, red for positive, brighter the larger."""
    x = max(-1.0, min(1.0, v))
    level = int(80 + 175 * abs(x))
    return f"rgb({level},60,60)" if x >= 0 else f"rgb(60,90,{level})"


def trace(console: Console, c) -> None:
    """The top layer's hidden state after each prompt token, one row per token: the units as
    a strip (▁ = -1 .. █ = +1), then |h| and the next word the model would guess there."""
    rows = c.trace
    H = len(rows[0].h)
    shown = min(H, HEAT_COLUMNS)
    grouped = f", in {shown} groups" if H > shown else ""
    console.print(f"hidden state after each token ({H} units{grouped}; ▁ = -1 .. █ = +1), "
                  "|h|, next-word guess", highlight=False, soft_wrap=True)
    w = _label_width([s.token for s in rows])
    for s in rows:
        line = Text(f"  {_label(s.token, w)} ")
        for v in _cells(s.h):
            level = int((max(-1.0, min(1.0, v)) + 1) / 2 * (len(LEVELS) - 1) + 0.5)
            line.append(LEVELS[level], style=_heat_style(v))
        line.append(f" {s.norm:6.2f}  {s.guess} {s.prob:.2f}")
        console.print(line, highlight=False, soft_wrap=True)


def insides(console: Console, c) -> None:
    """The charts a completion carries: its explanation and its trace, when asked for."""
    if c.explain is not None:
        explanation(console, c)
    if c.trace is not None:
        trace(console, c)
