"""The report's colours, defined once: categories, the score scale and the page's inks.

Every colour is chosen to stay distinguishable with the common colour-vision deficiencies
(deuteranopia, protanopia, tritanopia) and in greyscale print:

* categories take the Okabe-Ito palette (Okabe and Ito, "Color Universal Design", 2008), whose
  eight colours were picked to stay apart for every common deficiency;
* score levels take one sequential blue ramp, light (low) to dark (high): its lightness alone
  orders them, so the order survives any colour deficiency and a black-and-white printer, and
  every tile and heatmap cell writes its score as well, so colour is never the only cue.

Charts (matplotlib; :mod:`xmkit.report.charts` colours heatmap cells with :func:`score_colour`), the
HTML practice tiles and the stylesheet (:func:`css_variables`, the page's ``:root``) all read from
here. No matplotlib here: pages without charts (the questionnaire) need none.
"""

from __future__ import annotations

__all__ = [
    "ACCENT",
    "CATEGORY_COLOURS",
    "INK",
    "MUTED",
    "NEUTRAL",
    "SCORE_STOPS",
    "category_colours",
    "css_variables",
    "ink_on",
    "score_colour",
]

INK = "#1f2a35"
"""The page's text colour."""
MUTED = "#5a6875"
"""Secondary text: captions, notes."""
ACCENT = "#2f5d8a"
"""Headings' rule and the stage track's reached stages."""
NEUTRAL = "#555555"
"""A series that is no category (the overall score)."""

CATEGORY_COLOURS = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe-Ito, in the order categories (and other series) take them."""

SCORE_STOPS = ("#e3eef9", "#b3d3ee", "#7fb0dc", "#2b6cb0", "#0b3d78")
"""The level colours from the scale's lowest level to its highest: one blue, lighter to darker
(relative luminance 0.84, 0.62, 0.41, 0.14, 0.05). No colour sits at luminance 0.18-0.27, where
neither white nor the ink reaches WCAG's 4.5:1 contrast for the text written on it."""


def category_colours(n: int) -> list[str]:
    """``n`` series colours: Okabe-Ito, then repeated (a chart with more series labels them)."""
    return [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(n)]


def _rgb(colour: str) -> tuple[float, float, float]:
    """``#rrggbb`` as red, green and blue in 0-1."""
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.1 definition) of a colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ink_on(background: str) -> str:
    """White or the page's ink, whichever contrasts more with ``background`` (WCAG ratio)."""
    lum = _luminance(background)
    on_white = 1.05 / (lum + 0.05)
    on_ink = (lum + 0.05) / (_luminance(INK) + 0.05)
    return "#ffffff" if on_white >= on_ink else INK


def score_colour(score: float, low: float, high: float) -> tuple[str, str]:
    """Background and text colour of ``score`` on a ``low``-``high`` scale: its level's colour.

    The level is the score's whole part, as the report names it ("2.91 (level 2)"); a colour
    per level, rather than a shade per hundredth, makes equal colours mean equal levels.
    """
    level = min(max(int(score // 1), low), high)
    background = SCORE_STOPS[round((level - low) / (high - low) * (len(SCORE_STOPS) - 1))]
    return background, ink_on(background)


def css_variables() -> str:
    """The palette as CSS custom properties (``--ink``, ``--score-1`` ...), for ``:root``."""
    names = {"--ink": INK, "--muted": MUTED, "--accent": ACCENT, "--neutral": NEUTRAL}
    names |= {f"--score-{i + 1}": c for i, c in enumerate(SCORE_STOPS)}
    names |= {f"--category-{i + 1}": c for i, c in enumerate(CATEGORY_COLOURS)}
    body = " ".join(f"{name}: {value};" for name, value in names.items())
    return f":root {{ {body} }}\n"
