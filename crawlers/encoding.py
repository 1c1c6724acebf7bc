"""Decodes fetched HTML bytes to text, trusting the bytes over a missing or wrong charset label."""
import codecs
import re

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_\-]+)", re.I)
# A page labelled with one of these is usually written in its superset; decoding with the superset
# loses nothing and saves the characters the narrower table lacks (GBK lacks many rare hanzi).
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}
_FALLBACKS = ("gb18030", "big5hkscs")


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charsets(body: bytes, content_type: str = "") -> list[str]:
    """Returns the codecs the HTTP header and the page's <meta> tag name, in that order."""
    labels = []
    header = _HEADER_CHARSET.search(content_type or "")
    if header:
        labels.append(header.group(1))
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        labels.append(meta.group(1).decode("ascii", "ignore"))
    return [c for c in dict.fromkeys(_codec(label) for label in labels) if c]


def decode_html(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Returns (text, codec) for a page's bytes.

    Strict UTF-8 wins whenever the bytes are valid UTF-8: other encodings of Chinese or accented
    text practically never are, while a wrong label (a GBK page served as UTF-8, a UTF-8 page
    labelled ISO-8859-1) is common. Then each declared charset is tried strictly, then GB18030 and
    Big5; when several fit, charset-normalizer picks the most plausible.
    """
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8):].decode("utf-8", "replace"), "utf-8"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = [c for c in declared_charsets(body, content_type) if c not in ("utf-8", "cp1252")]
    fitting = []
    for codec in dict.fromkeys([*declared, *_FALLBACKS]):
        try:
            body.decode(codec)
            fitting.append(codec)
        except UnicodeDecodeError:
            continue
    if len(fitting) == 1:
        return body.decode(fitting[0]), fitting[0]
    # Several legacy tables fit (GB18030 accepts most Big5 byte pairs): a label may be wrong, so
    # let the statistics of the decoded text decide among those that fit.
    best = from_bytes(body, cp_isolation=fitting or None).best()
    if best is not None and _codec(best.encoding):
        return str(best), _codec(best.encoding)
    declared_any = declared_charsets(body, content_type)
    codec = declared_any[0] if declared_any else "gb18030"
    return body.decode(codec, "replace"), codec
