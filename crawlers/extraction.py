"""Main-text extraction with trafilatura: text, kept HTML, title, author, date, language, canonical URL."""
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import trafilatura
from lxml import html as lxml_html
from trafilatura.htmlprocessing import build_html_output

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

# The same options for the crawl and for the extraction-only benchmark floor (bench/crawl.py).
EXTRACT_OPTIONS = {
    "include_comments": False,  # reader comments are not the article
    "include_tables": True,
    "include_links": True,  # kept so that the share of link text can be measured
    "with_metadata": True,
    # Dates only from the page's own metadata and markup, never a guess from the text (which is
    # where comment timestamps live).
    "date_extraction_params": {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"},
}


@dataclass(frozen=True)
class ExtractedPage:
    title: str
    text: str
    html: str
    author: str
    published_at: dt.datetime | None
    language: str
    link_text_share: float  # share of the main text that is link text
    link_count: int  # links inside the main text

    def is_link_list(self, *, max_link_share: float, min_chars_per_link: int) -> bool:
        """True for a page whose main text is mostly links or a list of teasers (a listing page)."""
        if self.link_text_share > max_link_share:
            return True
        return self.link_count >= 3 and len(self.text) / self.link_count < min_chars_per_link


def extract_page(html: str, url: str) -> ExtractedPage | None:
    """Returns the page's main content and metadata, or None when trafilatura finds no main text."""
    document = trafilatura.bare_extraction(html, url=url, **EXTRACT_OPTIONS)
    if document is None or not (document.text or "").strip():
        return None
    text = document.text.strip()
    refs = list(document.body.iter("ref"))
    link_chars = sum(len("".join(ref.itertext())) for ref in refs)
    body_chars = max(1, len("".join(document.body.itertext())))
    return ExtractedPage(
        title=(document.title or "").strip(),
        text=text,
        html=build_html_output(document),
        author=(document.author or "").strip(),
        published_at=_parse_date(document.date),
        language=detect_language(text),
        link_text_share=min(1.0, link_chars / body_chars),
        link_count=len(refs),
    )


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.timezone.utc)


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
