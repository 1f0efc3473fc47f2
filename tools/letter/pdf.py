"""The letter as PDF: the same HTML, laid out for A4 by WeasyPrint with the machine's fonts
(Debian's fonts-noto-cjk, installed by `make browser`). Nothing is fetched while rendering."""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from core.schemas.letter import Letter
from tools.letter.html import render_html


def render_pdf(letter: Letter, firm: str) -> bytes:
    """A4 pages of the letter; a reference to anything but inline data would be refused, so
    rendering never waits on the network."""
    fetcher = URLFetcher(allowed_protocols=("data",))
    document = HTML(string=render_html(letter, firm), url_fetcher=fetcher, base_url=None)
    pdf: bytes = document.write_pdf()
    return pdf
