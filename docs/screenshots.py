"""Regenerate the README's report screenshots (docs/images/*.png) from the example assessment.

    python docs/screenshots.py [--keep DIR]      (or: make screenshots)

Renders the example organization's report (HTML and PDF) and a batch's portfolio, then writes:

* ``report-page1.png`` and ``report-page3.png``: A4 pages of the PDF (poppler's pdftoppm, 80 dpi);
* ``report-phone.png``: the report's category scores on a 375 px wide phone (Chromium);
* ``portfolio.png``: the top of the portfolio page on a desktop screen (Chromium).

``--keep DIR`` renders into DIR and leaves it there (to look at every page); otherwise a
temporary folder is used and removed. The self-assessment form's screenshot (JupyterLab) is
taken by hand.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import xmkit
from xmkit.render.pdf import CHROMIUM_ARGS, chromium_path

__all__ = ["main", "pdf_page", "screenshot"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assessments" / "example"
IMAGES = ROOT / "docs" / "images"


def pdf_page(pdf: Path, page: int, target: Path, dpi: int = 80) -> Path:
    """One page of ``pdf`` as a PNG at ``target`` (pdftoppm names its output itself)."""
    stem = target.with_suffix("")
    pages = ["-f", str(page), "-l", str(page), "-singlefile"]
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), *pages, str(pdf), str(stem)], check=True)
    return target


def screenshot(
    html: Path, target: Path, width: int, height: int, mobile: bool, at: str | None = None
) -> Path:
    """``width`` x ``height`` CSS pixels of ``html`` in Chromium: the top, or from the element
    that the CSS selector ``at`` names."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                is_mobile=mobile,
                has_touch=mobile,
                device_scale_factor=2 if mobile else 1,
            )
            page = context.new_page()
            page.goto(html.resolve().as_uri(), wait_until="load")
            if at is not None:
                page.evaluate("selector => document.querySelector(selector).scrollIntoView()", at)
            page.screenshot(path=str(target))
        finally:
            browser.close()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="render into this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch)
        report = xmkit.render_report(EXAMPLE, output_dir=out / "report")
        xmkit.run_batch(EXAMPLE, output_dir=out / "batch", formats="html")
        portfolio = next((out / "batch").rglob("index.html"))
        IMAGES.mkdir(parents=True, exist_ok=True)
        written = [
            pdf_page(report["pdf"], 1, IMAGES / "report-page1.png"),
            pdf_page(report["pdf"], 3, IMAGES / "report-page3.png"),
            screenshot(
                report["html"],
                IMAGES / "report-phone.png",
                375,
                760,
                mobile=True,
                at=".section-categories",
            ),
            screenshot(portfolio, IMAGES / "portfolio.png", 1100, 900, mobile=False),
        ]
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
