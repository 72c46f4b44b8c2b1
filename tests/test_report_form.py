"""The report's form: colour-blind-safe colours, charts legible on a phone, A4 pages well filled.

Real renders: the example organization's report (HTML and PDF) is rendered once for the module,
opened in Debian's Chromium at a 375 px phone width, and its PDF read with poppler's pdftotext.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import xmkit
from xmkit.render.pdf import PdfPrinter
from xmkit.report import markup, palette

ROOT = Path(__file__).resolve().parents[1]
CLOSING = "Made with xmkit."
PHONE = {"width": 375, "height": 800}

# Machado, Oliveira and Fernandes (2009), "A physiologically-based model for simulation of color
# vision deficiency", IEEE TVCG 15(6): the matrices for severity 1.0, on linear RGB.
DEFICIENCIES = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def _linear(colour: str) -> np.ndarray:
    srgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a linear-RGB colour: sRGB -> XYZ -> L*a*b*."""
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def _body_lines(page: str) -> list[str]:
    """A page's lines without the running header (title, "Confidential") and page number."""
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    return [
        line
        for line in lines
        if not line.endswith("Confidential") and not re.fullmatch(r"page \d+ of \d+", line)
    ]


@pytest.fixture(scope="module")
def org_report(browser, tmp_path_factory) -> dict[str, Path]:
    """The example organization's report, HTML and PDF (``browser``: skip without Chromium)."""
    out = tmp_path_factory.mktemp("form")
    return xmkit.render_report(ROOT / "assessments" / "example", output_dir=out)


@pytest.fixture(scope="module")
def phone(browser, org_report):
    """The report open in Chromium on a 375 px wide phone."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(org_report["html"].resolve().as_uri(), wait_until="load")
    yield page
    context.close()


# ---- 1. colours ----------------------------------------------------------------------------


def test_packaged_framework_gives_categories_the_palettes_colours_in_order():
    framework = xmkit.load_framework()
    colours = [c.color.upper() for c in framework.categories]
    assert colours == [c.upper() for c in palette.category_colours(len(colours))]


@pytest.mark.parametrize("deficiency", sorted(DEFICIENCIES))
def test_category_colours_stay_apart_for_each_colour_vision_deficiency(deficiency: str):
    """Every pair of the eight category colours, as seen with the deficiency (Machado 2009),
    differs by at least 15 CIELAB units (about three "just noticeable" steps of ~5); seaborn's
    default palette, used before, had a pair 2.7 apart for protanopia."""
    matrix = np.array(DEFICIENCIES[deficiency])
    seen = [_lab(np.clip(matrix @ _linear(c), 0, 1)) for c in palette.CATEGORY_COLOURS]
    distances = {
        (palette.CATEGORY_COLOURS[i], palette.CATEGORY_COLOURS[j]): np.linalg.norm(a - b)
        for i, a in enumerate(seen)
        for j, b in enumerate(seen[:i])
    }
    closest = min(distances, key=distances.get)
    assert distances[closest] >= 15, (closest, distances[closest])


def test_level_colours_darken_steadily_and_keep_their_text_readable():
    """Each level has one colour, darker for a higher level: lightness alone orders them (so
    colour-blind readers and greyscale prints keep the order), and the text written on a tile
    contrasts with it by WCAG's 4.5:1."""

    def luminance(colour: str) -> float:
        return float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(colour))

    assert palette.score_colour(2.0, 1, 5) == palette.score_colour(2.99, 1, 5)
    by_level = [palette.score_colour(level + 0.5, 1, 5) for level in range(1, 5)]
    by_level.append(palette.score_colour(5.0, 1, 5))
    lums = [luminance(background) for background, _ in by_level]
    assert all(a > b for a, b in itertools.pairwise(lums)), lums
    for low, high in [(1, 4), (1, 7), (0, 10)]:
        lums = [luminance(palette.score_colour(v, low, high)[0]) for v in range(low, high + 1)]
        assert all(a >= b for a, b in itertools.pairwise(lums)) and lums[0] > lums[-1], lums
    for background, ink in by_level:
        lighter, darker = sorted([luminance(background), luminance(ink)], reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (background, ink)


def test_page_declares_the_palette_as_css_custom_properties(phone):
    """The stylesheet's colours are the palette's: the page's :root carries them and the
    practice grid's legend is drawn from them."""
    root = phone.evaluate(
        """names => Object.fromEntries(names.map(n =>
            [n, getComputedStyle(document.documentElement).getPropertyValue(n).trim()]))""",
        ["--ink", "--accent", *[f"--score-{i}" for i in range(1, 6)], "--category-1"],
    )
    assert root["--ink"] == palette.INK and root["--accent"] == palette.ACCENT
    assert [root[f"--score-{i}"] for i in range(1, 6)] == list(palette.SCORE_STOPS)
    assert root["--category-1"] == palette.CATEGORY_COLOURS[0]
    ramp = phone.evaluate("getComputedStyle(document.querySelector('.ramp')).backgroundImage")
    first, last = (int(c, 16) for c in (palette.SCORE_STOPS[0][1:3], palette.SCORE_STOPS[-1][1:3]))
    assert ramp.startswith("linear-gradient") and f"rgb({first}," in ramp, ramp
    assert f"rgb({last}," in ramp, ramp


def test_practice_tiles_write_the_level_so_colour_is_never_the_only_cue(phone):
    tiles = phone.evaluate(
        "Array.from(document.querySelectorAll('.practice-grid td:not(.empty)'))"
        ".map(t => t.innerText)"
    )
    assert len(tiles) == 12
    assert all(re.search(r"\d\.\d\d \(level \d\)", t) for t in tiles), tiles


# ---- 2. charts on a phone ------------------------------------------------------------------

MEASURE_CHART_TEXT = """() => {
  // Each chart is an SVG image: draw its source inline at the size the image has on the
  // page and ask Chromium how large every text comes out (font size x the scale on screen).
  const sizes = [];
  for (const img of document.querySelectorAll('figure.chart img')) {
    const box = img.getBoundingClientRect();
    const source = atob(img.src.split(',')[1]);
    const svg = new DOMParser().parseFromString(source, 'image/svg+xml').documentElement;
    svg.setAttribute('width', box.width);
    svg.setAttribute('height', box.height);
    const holder = document.createElement('div');
    holder.style.cssText = 'position:absolute;left:0;top:0';
    holder.appendChild(document.importNode(svg, true));
    document.body.appendChild(holder);
    for (const text of holder.querySelectorAll('text')) {
      if (!text.textContent.trim()) continue;
      const m = text.getScreenCTM();
      const px = parseFloat(getComputedStyle(text).fontSize) * Math.hypot(m.c, m.d);
      sizes.push({chart: img.alt, text: text.textContent, px: px, width: box.width});
    }
    holder.remove();
  }
  return sizes;
}"""


def test_every_chart_label_renders_at_least_9px_on_a_375px_phone(phone):
    sizes = phone.evaluate(MEASURE_CHART_TEXT)
    charts = {s["chart"] for s in sizes}
    assert {"Category scores", "Business unit heatmap", "Scores by role"} <= charts, charts
    smallest = min(sizes, key=lambda s: s["px"])
    assert smallest["px"] >= 9, smallest
    assert all(s["width"] <= PHONE["width"] for s in sizes)


def test_nothing_but_a_scroll_container_is_wider_than_a_375px_phone(phone):
    wide = phone.evaluate(
        """() => {
          const inScroller = el => { for (let p = el.parentElement; p; p = p.parentElement) {
              if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; }
            return false; };
          return Array.from(document.querySelectorAll('main *'))
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(el => !inScroller(el)).map(el => el.outerHTML.slice(0, 80));
        }"""
    )
    assert wide == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# ---- 3 and 4. A4 pages ---------------------------------------------------------------------


def test_example_pdf_last_page_holds_more_than_the_closing_line(org_report):
    last = _body_lines(_pdf_pages(org_report["pdf"])[-1])
    assert last[-1] == CLOSING
    assert len(last) > 1, last


def test_closing_line_never_stands_alone_on_a_last_page(tmp_path):
    """Lists of growing length cross the end of the first page: at one length, the closing
    line alone would spill onto page 2; the stylesheet keeps it with the last item."""

    def print_lists() -> dict[int, list[str]]:
        # Its own thread: the module's Playwright (``browser``) holds this one's event loop.
        with PdfPrinter() as printer:

            def print_list(n: int) -> list[str]:
                items = "".join(f"<li>Point {i} of the method, in a line.</li>" for i in range(n))
                body = f"<section><h2>Method</h2><ul>{items}</ul></section>"
                html = tmp_path / f"{n}.html"
                html.write_text(markup.page("Form", body), encoding="utf-8")
                return _pdf_pages(printer.print(html, tmp_path / f"{n}.pdf"))

            first_page = "\n".join(_body_lines(print_list(60)[0]))
            fits = max(int(m) for m in re.findall(r"Point (\d+) of", first_page)) + 1
            return {n: print_list(n) for n in range(fits - 1, fits + 3)}

    with ThreadPoolExecutor(max_workers=1) as pool:
        printed = pool.submit(print_lists).result()
    assert any(len(pages) == 2 for pages in printed.values()), printed
    for n, pages in printed.items():
        assert len(_body_lines(pages[-1])) > 1, (n, len(pages), pages[-1])


def test_no_a4_page_but_the_last_ends_more_than_two_fifths_empty(org_report):
    """Sections flow from page to page: a page ends early only where the next chart (one image,
    at most ~4 in with its caption, a third of the page) does not fit. Forced section breaks
    left pages 56% full; the text's lowest line per page comes from pdftotext -bbox."""
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(org_report["pdf"]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    filled = []
    for page in bbox.split("<page ")[1:]:
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        bottoms = [float(y) for y in re.findall(r'yMax="([\d.]+)"', page)]
        body = [y for y in bottoms if y < height - 40]  # the running page number sits below
        filled.append(round(max(body) / height, 2))
    assert len(filled) > 3
    assert all(f >= 0.58 for f in filled[:-1]), filled
