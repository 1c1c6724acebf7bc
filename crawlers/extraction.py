"""Main-text extraction with trafilatura: plain text, kept HTML, title, author, date, language, links.

One page goes through these steps (extract_page):
  1. trafilatura in precision mode finds the main text; the stored text is written from the
     extracted tree as plain text (no Markdown, no link syntax);
  2. links are counted on trafilatura's balanced-mode tree of the same page, between the main
     text's first and last block (precision mode drops teaser links, which would hide a listing);
  3. the date comes from the page's markup only (crawlers.dates).
"""
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.htmlprocessing import build_html_output
from trafilatura.utils import load_html

from crawlers.dates import publication_date

# Query parameters that only say where a visitor came from: dropping them gives one URL per page.
_TRACKING_PARAM = re.compile(
    r"^(utm_.*|gclid|gclsrc|dclid|fbclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|spm|scm|"
    r"share_token|from|src|ref|ref_src|sharesource|share_source|wt\.mc_id|__twitter_impression)$",
    re.I,
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_EN_STOPWORDS = frozenset(
    "the of and to a in is that for it as was with be by on not he this are or his from at which but "
    "have an they you were her she there been has their one all we can more will would its also than "
    "into our these other what when who how about after most new year".split()
)

_COMMON_OPTIONS = {
    "include_comments": False,  # reader comments are not the article
    "include_tables": True,
    # Links stay in the extracted tree as <ref> elements, so that the share of link text can be
    # measured on the tree; the stored text is written from the tree without them (_plain_text).
    "include_links": True,
}
# The main text. Precision mode, measured on real pages (docs/BENCHMARKS.md, Extraction on real
# pages), drops more boilerplate (related lists, bylines, share bars) than it loses text.
EXTRACT_OPTIONS = {
    **_COMMON_OPTIONS,
    "favor_precision": True,
    "with_metadata": True,  # title and author; the date is read by crawlers.dates instead
    "date_extraction_params": {"extensive_search": False, "original_date": True},  # cheapest htmldate run
}
# The links: balanced mode keeps teaser headlines, the mark of a listing page; no fallback
# extractors and no metadata, since only the links between the main text's blocks are counted.
LINK_OPTIONS = {**_COMMON_OPTIONS, "fast": True}


@dataclass(frozen=True)
class ExtractedPage:
    title: str
    text: str
    html: str
    author: str
    published_at: dt.datetime | None
    language: str
    link_text_share: float  # share of the main text's characters that are link text
    link_count: int  # links inside the main text
    linked_text_chars: int = 0  # characters of the main text the links were counted in

    def is_link_list(self, *, max_link_share: float, min_chars_per_link: int) -> bool:
        """True for a page whose main text is mostly links or a list of teasers (a listing page)."""
        if self.link_text_share > max_link_share:
            return True
        chars = self.linked_text_chars or len(self.text)
        return self.link_count >= 3 and chars / self.link_count < min_chars_per_link


def extract_page(html: str, url: str) -> ExtractedPage | None:
    """Returns the page's main content and metadata, or None when trafilatura finds no main text."""
    tree = load_html(html)
    if tree is None:
        return None
    document = trafilatura.bare_extraction(tree, url=url, **EXTRACT_OPTIONS)
    if document is None:
        return None
    text = _plain_text(document.body)
    if not text:
        return None
    lines = text.split("\n")
    links, link_chars, linked_chars = _main_text_links(tree, url, lines)
    title = " ".join((document.title or "").split())
    title_element = _title_element(tree, title)
    day = publication_date(tree, url=url, title_element=title_element, body_start=lines[0], body_end=lines[-1])
    return ExtractedPage(
        title=title,
        text=text,
        html=build_html_output(document),
        author=(document.author or "").strip(),
        published_at=dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.timezone.utc) if day else None,
        language=detect_language(text),
        link_text_share=min(1.0, link_chars / max(1, linked_chars)),
        link_count=links,
        linked_text_chars=linked_chars,
    )


def _visible_chars(element) -> int:
    """Returns the number of characters of the element's text that are not white space."""
    return len("".join("".join(element.itertext()).split()))


def _block_text(element) -> str:
    return " ".join("".join(element.itertext()).split())


# Step 1: plain text ---------------------------------------------------------------------------------

# Elements of trafilatura's output tree that start and end a line of the plain text.
_LINE_ELEMENTS = frozenset({"p", "head", "list", "item", "table", "row", "quote", "code", "graphic", "div", "note"})
# Elements inside which a <code> is inline code, not a code block.
_INLINE_CONTEXT = frozenset({"p", "head", "item", "cell", "hi", "ref", "del", "quote"})


def _plain_text(body) -> str:
    """Returns the extracted tree as plain text: one line per paragraph, heading, list item or table row.

    No Markdown of any kind (trafilatura's own text output writes links as `[text](url)`, list
    markers and table rules); runs of white space become one space, except inside code blocks,
    which keep their lines.
    """
    lines: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        line = " ".join("".join(pending).split())
        pending.clear()
        if line:
            lines.append(line)

    def visit(element) -> None:
        if element.tag == "code" and (element.getparent() is None or element.getparent().tag not in _INLINE_CONTEXT
                                      or "\n" in "".join(element.itertext())):
            flush()
            lines.extend(line.rstrip() for line in "".join(element.itertext()).strip("\n").splitlines() if line.strip())
        else:
            starts_line = element.tag in _LINE_ELEMENTS
            if starts_line or element.tag == "lb":
                flush()
            elif element.tag == "cell" and element.getprevious() is not None:
                pending.append(" ")
            pending.append(element.text or "")
            for child in element:
                visit(child)
            if starts_line:
                flush()
        pending.append(element.tail or "")

    pending.append(body.text or "")
    for child in body:
        visit(child)
    flush()
    return "\n".join(lines)


# Step 2: links ----------------------------------------------------------------------------------------


def _main_text_links(tree, url: str, lines: list[str]) -> tuple[int, int, int]:
    """Returns (links, link characters, characters) of the balanced-mode tree's blocks within the main text.

    The blocks counted run from the one holding the main text's first line to the one holding its
    last, so that a related list after the article does not make an article look like a listing,
    while the teaser headlines between a listing's summaries (which precision mode drops) count.
    """
    document = trafilatura.bare_extraction(tree, url=url, **LINK_OPTIONS)
    if document is None:
        return 0, 0, sum(len(line) - line.count(" ") for line in lines)
    body = document.body
    blocks = [b for b in body.iter(*_LINE_ELEMENTS) if not any(c.tag in _LINE_ELEMENTS for c in b.iterdescendants())]
    squeezed = ["".join(_block_text(b).split()) for b in blocks]
    first, last = "".join(lines[0].split())[:30], "".join(lines[-1].split())[-30:]
    start = next((b for b, text in zip(blocks, squeezed) if first in text), None)
    end = next((b for b, text in zip(reversed(blocks), reversed(squeezed)) if last in text), None)
    refs = chars = link_chars = 0
    inside = start is None  # main text not found in this tree: count all of it
    for event, element in etree.iterwalk(body, events=("start", "end")):
        if event == "start":
            if element is start:
                inside = True
            if inside:
                chars += _squeezed_len(element.text)
                if element.tag == "ref" and not (element.get("target") or "").startswith("#") and (
                        n := _visible_chars(element)):
                    refs += 1
                    link_chars += n
        else:
            if inside and element is not body:
                chars += _squeezed_len(element.tail)
            if element is end:
                inside = False
    return refs, link_chars, chars


def _squeezed_len(text: str | None) -> int:
    return len("".join(text.split())) if text else 0


# Step 3: the title -------------------------------------------------------------------------------


def _title_element(tree, title: str):
    """Returns the <h1> that shows the title, for crawlers.dates (the article's header starts there)."""
    return next((h1 for h1 in tree.iter("h1") if (text := _block_text(h1)) and text in title), None)


def detect_language(text: str) -> str:
    """Returns "zh", "en" or "other" from the script and, for Latin script, English function words."""
    sample = text[:5000]
    cjk = len(_CJK.findall(sample))
    words = _LATIN_WORD.findall(sample)
    latin = sum(len(w) for w in words)
    if cjk and cjk >= 0.3 * (cjk + latin):
        return "zh"
    if words and sum(w.lower() in _EN_STOPWORDS for w in words) >= 0.12 * len(words):
        return "en"
    return "other"


def normalize_url(url: str) -> str:
    """Returns `url` without fragment, tracking parameters or default port; host lowercased; query sorted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAM.match(k))
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def canonical_url(html: str, url: str) -> str:
    """Returns the page's own `<link rel="canonical">` when it stays on the page's host, else its normalized URL.

    A canonical link to another host is ignored: a page must not be able to claim (and overwrite) an
    article that belongs to another site.
    """
    try:
        tree = lxml_html.fromstring(html[:200_000])
        hrefs = tree.xpath('//head/link[translate(@rel, "CANONICAL", "canonical")="canonical"]/@href')
    except (ValueError, lxml_html.etree.ParserError):
        hrefs = []
    page_host = urlsplit(url).hostname
    for href in hrefs:
        candidate = urljoin(url, href.strip())
        if urlsplit(candidate).scheme in ("http", "https") and urlsplit(candidate).hostname == page_host:
            return normalize_url(candidate)
    return normalize_url(url)
