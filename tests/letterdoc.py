"""Read a rendered letter back: its HTML as the lines of text a client reads, in order, so a
test can hold them against `render_text`; a PDF's text and page-1 pixels through poppler."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import tinyhtml5

XHTML = "{http://www.w3.org/1999/xhtml}"
BULLET = "• "
BLOCKS = {"p", "h2", "li", "tr"}


def parse(html: str) -> ET.Element:
    """The document as a browser parses it (HTML5 rules, not a lenient regex)."""
    root: ET.Element = tinyhtml5.parse(html)
    return root


def tag(element: ET.Element) -> str:
    return element.tag.removeprefix(XHTML)


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def article(root: ET.Element) -> ET.Element:
    found = [e for e in root.iter() if tag(e) == "article" and "letter" in classes(e)]
    assert len(found) == 1, f"{len(found)} letter articles"
    return found[0]


def _row(row: ET.Element, locale: str) -> str:
    """A holdings table row as the text's holding line: the cells carry its parts."""
    cells = {c: "" for c in ("name", "code", "risk", "weight", "amount", "units")}
    for cell in row:
        if tag(cell) == "td":
            units = [e for e in cell.iter() if "units" in classes(e)]
            for e in units:
                cells["units"] = text(e)
                e.clear()  # the amount is what remains in the cell
            for name in cells.keys() & classes(cell):
                cells[name] = text(cell)
    if locale == "zh-CN":
        return (
            f"{BULLET}{cells['name']}（{cells['code']}）：风险等级{cells['risk']}，"
            f"占比{cells['weight']}，金额{cells['amount']}{cells['units']}"
        )
    units = f" {cells['units']}" if cells["units"] else ""
    return (
        f"{BULLET}{cells['name']} ({cells['code']}): risk level {cells['risk']}, "
        f"{cells['weight']} of the plan, {cells['amount']}{units}"
    )


def lines(html: str) -> list[str]:
    """Every line of text the letter's HTML shows, in order, leaving out the layout's own
    labels (elements marked data-layout: the letterhead, the column names, the chart)."""
    root = article(parse(html))
    locale = root.get("lang", "")
    out: list[str] = []

    def walk(element: ET.Element) -> None:
        if element.get("data-layout") is not None:
            return
        name = tag(element)
        if name == "tr":
            out.append(_row(element, locale))
        elif name == "li":
            out.append(BULLET + text(element))
        elif name in BLOCKS:
            out.append(text(element))
        else:
            for child in element:
                walk(child)

    walk(root)
    return out


def text_lines(plain: str) -> list[str]:
    """The plain text's lines as the HTML shows them: blank lines dropped, blanks collapsed."""
    return [" ".join(line.split()) for line in plain.splitlines() if line.strip()]


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


# Code points Noto Sans CJK SC draws with one glyph (cid01644): a PDF's text layer maps a glyph
# back to one of them only, so they read back as the same character.
SAME_GLYPH = str.maketrans({"\u00b7": "\u2022", "\u30fb": "\u2022", "\u2027": "\u2022"})


def squeezed(value: str) -> str:
    """Without blanks or hyphens, and one character for each shared glyph: a PDF breaks lines
    where its layout wraps them, and pdftotext joins a word hyphenated at a line's end."""
    return "".join(value.translate(SAME_GLYPH).replace("-", "").split())


def pdf_fonts(path: Path) -> list[str]:
    done = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in done.stdout.splitlines()[2:] if line.strip()]


def page_pixels(path: Path, page: int = 1, dpi: int = 40) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of one page, from pdftoppm's plain PPM output."""
    done = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), str(path)],
        capture_output=True,
        check=True,
    )
    data = done.stdout
    fields: list[bytes] = []
    at = 0
    while len(fields) < 4:  # P6, width, height, maxval, each ended by one blank
        end = at
        while data[end : end + 1] not in (b" ", b"\n", b"\t", b"\r"):
            end += 1
        if end > at:
            fields.append(data[at:end])
        at = end + 1
    assert fields[0] == b"P6" and fields[3] == b"255", fields
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[at : at + width * height * 3]
