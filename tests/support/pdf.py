"""Just enough of a PDF reader for the print tests: the pages of a PDF Chromium wrote (`page.pdf()`), in order,
and the text each shows, in the order it is drawn (no PDF library is installed: pypdf is not a dependency).

Chromium (Skia) writes plain, uncompressed objects; page content and the fonts' ToUnicode maps are Flate
streams; text is shown with hex strings of two-byte glyph codes (`<0012> Tj`, `[<00120034> -5 <0045>] TJ`),
which the font's ToUnicode map turns back into characters."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_OBJECT = re.compile(rb"(?:^|\n)(\d+) 0 obj\s*")
_REF = rb"(\d+) 0 R"


@dataclass(frozen=True)
class _Object:
    head: bytes  # the dictionary (or the whole object when it is not a stream)
    stream: bytes | None


def _objects(data: bytes) -> dict[int, _Object]:
    """Every object, a stream read by its /Length (its bytes may hold anything, "endobj" too)."""
    found = {}
    position = 0
    while (match := _OBJECT.search(data, position)) is not None:
        start = match.end()
        stream_at = data.find(b"stream", start)
        end_at = data.find(b"endobj", start)
        if stream_at == -1 or end_at < stream_at:  # not a stream
            found[int(match.group(1))] = _Object(data[start:end_at], None)
            position = end_at + 6
            continue
        head = data[start:stream_at]
        length = int(re.search(rb"/Length\s+(\d+)", head).group(1))
        body = stream_at + len(b"stream")
        body += 2 if data[body:body + 2] == b"\r\n" else 1
        raw = data[body:body + length]
        found[int(match.group(1))] = _Object(head, zlib.decompress(raw) if b"/FlateDecode" in head else raw)
        position = data.find(b"endobj", body + length) + 6
    return found


def _unicode_map(cmap: bytes) -> dict[int, str]:
    """A ToUnicode CMap's bfchar and bfrange entries: glyph code -> text."""
    table: dict[int, str] = {}

    def text(hex_string: bytes) -> str:
        return bytes.fromhex(hex_string.decode()).decode("utf-16-be")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, value in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(code, 16)] = text(value)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, value in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = ord(text(value)[-1])
            prefix = text(value)[:-1]
            for n, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                table[code] = prefix + chr(first + n)
    return table


def _fonts(page: _Object, objects: dict[int, _Object]) -> dict[bytes, dict[int, str]]:
    resources = page.head
    inline = re.search(rb"/Font\s*<<(.*?)>>", resources, re.S)
    fonts = {}
    for name, number in re.findall(rb"/(\w+)\s+" + _REF, inline.group(1) if inline else b""):
        font = objects[int(number)].head
        to_unicode = re.search(rb"/ToUnicode\s+" + _REF, font)
        fonts[name] = _unicode_map(objects[int(to_unicode.group(1))].stream) if to_unicode else {}
    return fonts


_TEXT_OPS = re.compile(rb"/(\w+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>\s*Tj|\[((?:[^\]\\]|\\.)*)\]\s*TJ|(ET)")


def _page_text(content: bytes, fonts: dict[bytes, dict[int, str]]) -> str:
    """The text a content stream shows, in drawing order; a space between text objects (BT ... ET)."""
    parts: list[str] = []
    font: dict[int, str] = {}

    def show(hex_string: bytes) -> None:
        codes = bytes.fromhex(hex_string.decode())
        parts.append("".join(font.get(int.from_bytes(codes[i:i + 2], "big"), "") for i in range(0, len(codes), 2)))

    for name, single, array, end in _TEXT_OPS.findall(content):
        if name:
            font = fonts.get(name, {})
        elif end:
            parts.append(" ")
        elif array:
            for hex_string in re.findall(rb"<([0-9A-Fa-f]*)>", array):
                show(hex_string)
        else:
            show(single)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def page_count(data: bytes) -> int:
    """The number of /Type /Page objects (not /Pages)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def pages_text(data: bytes) -> list[str]:
    """Each page's text, pages in the document's order (its page tree's /Kids)."""
    objects = _objects(data)
    kids: list[int] = []
    for obj in objects.values():
        if re.search(rb"/Type\s*/Pages\b", obj.head) and b"/Parent" not in obj.head:
            kids = [int(n) for n in re.findall(_REF, re.search(rb"/Kids\s*\[(.*?)\]", obj.head, re.S).group(1))]
    texts = []
    for number in kids:
        page = objects[number]
        contents = re.search(rb"/Contents\s+" + _REF, page.head)
        texts.append(_page_text(objects[int(contents.group(1))].stream, _fonts(page, objects)))
    return texts
