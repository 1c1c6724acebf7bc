"""What a spider hands the pipelines: one item per URL, carrying its page or its outcome so far."""
import datetime as dt
from dataclasses import dataclass, field

from crawlers.extraction import ExtractedPage


@dataclass
class PageItem:
    url: str
    http_status: int | None = None
    redirected_from: str = ""
    redirect_chain: list[str] = field(default_factory=list)  # every URL of the redirects, the last one included
    html: str = ""  # decoded page, empty once the outcome is known without it
    fetched_at: dt.datetime | None = None
    in_sitemap: bool = False  # a sitemap of the site lists this URL
    links_followed: int = 0  # links the spider followed from this page
    page_link_share: float = 0.0  # share of the whole page's text that is link text
    canonical_url: str = ""
    page: ExtractedPage | None = None
    minhash: bytes | None = None  # the MinHash of page.text (contentlib.dedup.minhash_to_bytes)
    # Set by whichever step decides the page's fate; the steps after it leave the item alone.
    outcome: str | None = None
    reason: str = ""
    article_id: int | None = None
    extra: dict = field(default_factory=dict)

    def decide(self, outcome: str, reason: str = "", article_id: int | None = None) -> "PageItem":
        self.outcome, self.reason, self.article_id = outcome, reason, article_id
        self.html = ""
        return self
