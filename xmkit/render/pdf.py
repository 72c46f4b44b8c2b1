"""PDF from the report HTML, printed by headless Chromium driven through Playwright.

Chromium is Debian's (``/usr/bin/chromium``, or ``XMKIT_CHROMIUM``); Playwright only drives it,
so no browser is ever downloaded. :class:`PdfPrinter` keeps one browser and page open, so a
batch prints many reports without starting a browser for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from xmkit.errors import Problem, XmkitError

__all__ = [
    "CHROMIUM_ARGS",
    "FOOTER",
    "LAUNCH_MS",
    "PdfPrinter",
    "chromium_path",
    "html_to_pdf",
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
LAUNCH_MS = 120_000
"""How long Chromium may take to start: Playwright's 30 s is too short on a busy machine."""
HEADER = (
    '<div style="font-size:8px;width:100%;margin:0 12mm;display:flex;'
    'justify-content:space-between;color:#666;">'
    '<span class="title"></span><span>Confidential</span></div>'
)
"""The running header: the page title (client, unit and period) and the marking. Chromium
fills ``class="title"`` with the document's ``<title>`` as text, so a name is never markup."""
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#666;">'
    'page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
)


def chromium_path() -> str:
    """Where Chromium is: ``XMKIT_CHROMIUM``, else ``/usr/bin/chromium``, else on PATH."""
    configured = os.environ.get("XMKIT_CHROMIUM")
    for candidate in (configured, "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise XmkitError(
        Problem(
            configured or "/usr/bin/chromium",
            "Chromium, needed for PDF reports, was not found",
            expected="Debian's chromium package (apt-get install chromium), or XMKIT_CHROMIUM "
            "set to a Chromium binary; or leave pdf out of --format",
        )
    )


class PdfPrinter:
    """A headless Chromium that prints HTML files to A4 PDFs; use as a context manager.

    If Chromium dies (killed, out of memory, crashed), the report being printed is printed
    again on a new one; ``restarts`` counts how often that happened.
    """

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None
        self._page = None
        self.restarts = 0

    def __enter__(self) -> PdfPrinter:
        from playwright.sync_api import sync_playwright

        executable = chromium_path()
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=LAUNCH_MS
            )
            self._page = self._browser.new_page()
            self._page.emulate_media(media="print")
        except BaseException:
            # A Playwright left running makes every later start in this thread fail ("Sync
            # API inside the asyncio loop"): stop it, so the next PDF can start afresh.
            self._stop()
            raise
        return self

    def print(self, html_path: Path, pdf_path: Path) -> Path:
        """Print one HTML file to ``pdf_path`` (A4, backgrounds, header, page numbers).

        The PDF is tagged (a structure for screen readers and reflow) and has an outline:
        the headings become bookmarks, so a reader can jump to a section.

        The page is self-contained (styles inlined, charts as data URIs), so its text is set
        on the open page rather than navigated to: a third quicker per report.
        """
        try:
            return self._print(html_path, pdf_path)
        except Exception:
            if self._browser is not None and self._browser.is_connected():
                raise
        self._stop()  # Chromium is gone: a new one prints this report, and the next ones
        self.__enter__()
        self.restarts += 1
        return self._print(html_path, pdf_path)

    def _print(self, html_path: Path, pdf_path: Path) -> Path:
        self._page.set_content(Path(html_path).read_text(encoding="utf-8"), wait_until="load")
        self._page.pdf(
            path=str(pdf_path),
            format="A4",
            print_background=True,
            margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
            display_header_footer=True,
            header_template=HEADER,
            footer_template=FOOTER,
            outline=True,
            tagged=True,
        )
        return pdf_path

    def _stop(self) -> None:
        """Close the browser and Playwright, whatever state they are in."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._page = None
        for close in (browser.close if browser else None, playwright.stop if playwright else None):
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


def _print_one(html_path: Path, pdf_path: Path) -> Path:
    with PdfPrinter() as printer:
        return printer.print(html_path, pdf_path)


def html_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print one HTML file to PDF with a browser of its own.

    Playwright's sync API refuses to run on a thread with a running asyncio loop (a Jupyter
    kernel has one), so there it runs on a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _print_one(Path(html_path), Path(pdf_path))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_one, Path(html_path), Path(pdf_path)).result()
