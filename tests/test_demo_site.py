"""The static demo site in fixtures/demo_site: rebuilt exactly from the corpus, and shaped the way the
crawler relies on (full article text inside <article>, chrome outside it, sitemap, RSS, robots.txt)."""
import datetime as dt
import email.utils
import json
import re
import subprocess
import sys
import urllib.robotparser
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from contentlib import corpus

SITE = Path(settings.BASE_DIR) / "fixtures" / "demo_site"
PUBLIC = SITE / "public"
BASE = "http://127.0.0.1:8001"
CST = dt.timezone(dt.timedelta(hours=8))
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# ------------------------------------------------------------------------------- a tiny HTML DOM

class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
                and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one <{tag} class={cls} {attrs}>, found {len(found)}"
        return found[0]

    def inside(self, tag):
        node = self.parent
        while node is not None:
            if node.tag == tag:
                return True
            node = node.parent
        return False


class _Builder(HTMLParser):
    """Builds a tree and fails on mis-nested or unclosed tags, so the pages stay clean HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        assert tag not in VOID and self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(path: Path) -> Node:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>\n"), path
    builder = _Builder()
    builder.feed(text)
    builder.close()
    assert builder.current is builder.root, f"{path}: unclosed <{builder.current.tag}>"
    return builder.root


# ----------------------------------------------------------------------------------- helpers

def newest_first(articles):
    return sorted(articles, key=lambda a: (-a.published.toordinal(), a.id))


def published_at(article) -> dt.datetime:
    return dt.datetime.combine(article.published, dt.time(9), CST)


def build(out: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(SITE / "build.py"), "--out", str(out), *args],
                            cwd=settings.BASE_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def page_path(url: str) -> Path:
    """Maps a root-relative link to the file http.server would serve for it."""
    assert url.startswith("/") and "://" not in url, url
    path = PUBLIC / url.lstrip("/")
    return path / "index.html" if url.endswith("/") else path


def follow_listing(first_url: str) -> list[list[str]]:
    """The article links of each page of a listing, following rel="next" from its first page."""
    pages, url, seen = [], first_url, set()
    while url:
        assert url not in seen, f"pagination loops back to {url}"
        seen.add(url)
        doc = parse(page_path(url))
        items = doc.find("ul", cls="items")
        pages.append([a.attrs["href"] for a in items.find_all("a") if a.attrs["href"].startswith("/articles/")
                      and a.parent.tag == "h2"])
        nexts = [a for a in doc.find_all("a") if a.attrs.get("rel") == "next"]
        assert len(nexts) <= 1
        if nexts:
            assert nexts[0].text().strip() == "下一页 Next"
        url = nexts[0].attrs["href"] if nexts else None
    return pages


@pytest.fixture(scope="module")
def articles():
    return corpus.articles()


# ------------------------------------------------------------------------------------- tests

def test_build_reproduces_the_committed_site(tmp_path):
    build(tmp_path / "site")
    built, committed = tree(tmp_path / "site"), tree(PUBLIC)
    assert sorted(built) == sorted(committed), "file lists differ: rebuild with fixtures/demo_site/build.py"
    changed = [name for name in built if built[name] != committed[name]]
    assert not changed, f"rebuild fixtures/demo_site/public: {changed[:5]} differ from a fresh build"


def test_base_url_only_changes_the_absolute_urls(tmp_path):
    out = tmp_path / "site"
    build(out, "--base-url", "http://demo.example:9000/")
    other = tree(out)
    assert "127.0.0.1:8001" not in b"".join(other.values()).decode("utf-8")
    doc = parse(out / "articles" / "zh-ai-01.html")
    assert doc.find("link", rel="canonical").attrs["href"] == "http://demo.example:9000/articles/zh-ai-01.html"
    assert "Sitemap: http://demo.example:9000/sitemap.xml" in other["robots.txt"].decode()
    committed = tree(PUBLIC)
    # listing pages hold no absolute URL, so they do not depend on the base URL at all
    assert other["category/finance/index.html"] == committed["category/finance/index.html"]
    assert other["articles/zh-ai-01.html"] != committed["articles/zh-ai-01.html"]


def test_builder_refuses_to_overwrite_an_unrelated_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("not a build")
    result = subprocess.run([sys.executable, str(SITE / "build.py"), "--out", str(tmp_path)],
                            cwd=settings.BASE_DIR, capture_output=True, text=True)
    assert result.returncode != 0 and (tmp_path / "keep.txt").exists()


def test_one_page_per_corpus_article_and_no_near_duplicates(articles):
    pages = {p.stem for p in (PUBLIC / "articles").glob("*.html") if not re.fullmatch(r"index|page-\d+", p.stem)}
    assert pages == {a.id for a in articles}
    duplicate_ids = {a.id for a in corpus.near_duplicates()}
    assert duplicate_ids and not duplicate_ids & {p.stem for p in PUBLIC.rglob("*.html")}


def test_article_pages_hold_the_whole_body_inside_article(articles):
    for article in articles:
        doc = parse(PUBLIC / "articles" / f"{article.id}.html")
        node = doc.find("article")
        assert node.find("h1").text() == article.title
        paragraphs = [p.text() for p in node.find("div", cls="content").find_all("p")]
        assert paragraphs == article.paragraphs, article.id
        assert [p.text() for p in node.find_all("p")] == article.paragraphs, f"{article.id}: extra <p> in <article>"
        meta = node.find("div", cls="meta")
        assert meta.text().startswith(article.author + " · ")
        assert meta.find("time").attrs["datetime"] == article.published.isoformat()


def test_article_pages_carry_metadata(articles):
    for article in articles:
        doc = parse(PUBLIC / "articles" / f"{article.id}.html")
        assert doc.find("html").attrs["lang"] == ("zh-CN" if article.lang == "zh" else "en")
        assert doc.find("meta", charset="utf-8")
        assert doc.find("title").text() == f"{article.title} | 产业观察网 Industry Watch"
        url = f"{BASE}/articles/{article.id}.html"
        assert doc.find("link", rel="canonical").attrs["href"] == url
        assert doc.find("meta", name="author").attrs["content"] == article.author
        published = doc.find("meta", property="article:published_time").attrs["content"]
        assert published == f"{article.published.isoformat()}T09:00:00+08:00"
        keywords = re.split(r"[，,]\s*", doc.find("meta", name="keywords").attrs["content"])
        assert keywords == article.keywords
        ld = json.loads(doc.find("script", type_="application/ld+json").text())
        assert ld["@type"] == "NewsArticle" and ld["headline"] == article.title
        assert ld["datePublished"] == published and ld["author"]["name"] == article.author
        assert ld["mainEntityOfPage"] == url


def test_article_chrome_sits_outside_article(articles):
    by_id = {a.id: a for a in articles}
    for article in articles:
        doc = parse(PUBLIC / "articles" / f"{article.id}.html")
        article_text = doc.find("article").text()
        nav = doc.find("nav", cls="topnav")
        assert {a.attrs["href"] for a in nav.find_all("a")} >= {f"/category/{c['slug']}/" for c in corpus.categories()}
        crumbs = [a.attrs["href"] for a in doc.find("nav", cls="breadcrumb").find_all("a")]
        assert crumbs == ["/", f"/category/{article.category}/"]
        popular = doc.find("section", cls="popular").find_all("a")
        related = doc.find("section", cls="related").find_all("a")
        assert len(popular) >= 3 and len(related) >= 3
        for link in related:
            other = by_id[link.attrs["href"].removeprefix("/articles/").removesuffix(".html")]
            assert other.category == article.category and other.id != article.id
        share = doc.find("div", cls="share-bar").text()
        assert all(word in share for word in ("分享到", "微信", "微博", "LinkedIn"))
        assert "Contact us for advertising" in doc.find("section", cls="ad-box").text()
        footer = doc.find("footer").text()
        assert "©" in footer and "ICP备" in footer
        for node in (nav, doc.find("aside"), doc.find("div", cls="share-bar"), doc.find("section", cls="comments"),
                     doc.find("footer")):
            assert not node.inside("article")
        for phrase in ("热门文章", "相关推荐", "分享到", "Contact us for advertising", "ICP备", "读者评论"):
            assert phrase not in article_text, f"{article.id}: {phrase!r} inside <article>"


def test_comments_are_dated_after_the_article(articles):
    for article in articles:
        comments = parse(PUBLIC / "articles" / f"{article.id}.html").find("section", cls="comments")
        items = comments.find_all("li", cls="comment")
        assert len(items) == 2, article.id
        texts = {li.find("p", cls="comment-body").text() for li in items}
        assert len(texts) == 2 and not texts & set(article.paragraphs)
        for li in items:
            time = li.find("time", cls="comment-time")
            when = dt.datetime.fromisoformat(time.attrs["datetime"])
            assert when.date() > article.published, f"{article.id}: comment dated {when}"
            assert time.text() == when.strftime("%Y-%m-%d %H:%M")


def test_sitemap_lists_every_article(articles):
    root = ET.parse(PUBLIC / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP_NS}urlset"
    entries = {u.findtext(f"{SITEMAP_NS}loc"): u.findtext(f"{SITEMAP_NS}lastmod") for u in root}
    assert entries == {f"{BASE}/articles/{a.id}.html": a.published.isoformat() for a in articles}


def test_robots_txt_keeps_crawlers_out_of_private():
    text = (PUBLIC / "robots.txt").read_text(encoding="utf-8")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(text.splitlines())
    assert not robots.can_fetch("*", f"{BASE}/private/internal-memo.html")
    assert not robots.can_fetch("AnyBot", f"{BASE}/private/")
    for path in ("/", "/articles/zh-ai-01.html", "/category/finance/page-2.html", "/sitemap.xml"):
        assert robots.can_fetch("*", BASE + path), path
    assert robots.site_maps() == [f"{BASE}/sitemap.xml"]


def test_private_memo_exists_and_is_reachable_only_by_ignoring_robots():
    memo = PUBLIC / "private" / "internal-memo.html"
    assert "内部备忘录编号 ZX-7781" in parse(memo).find("article").text()
    for listing in ("index.html", "articles/page-2.html", "category/logistics/index.html"):
        footer_links = [a.attrs["href"] for a in parse(PUBLIC / listing).find("footer").find_all("a")]
        assert "/private/internal-memo.html" in footer_links, listing
    assert "/private/" not in (PUBLIC / "sitemap.xml").read_text(encoding="utf-8")
    assert "/private/" not in (PUBLIC / "rss.xml").read_text(encoding="utf-8")


def test_rss_has_the_20_newest_articles(articles):
    root = ET.parse(PUBLIC / "rss.xml").getroot()
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.find("channel").findall("item")
    assert len(items) == 20
    newest = newest_first(articles)[:20]
    assert [i.findtext("link") for i in items] == [f"{BASE}/articles/{a.id}.html" for a in newest]
    for item, article in zip(items, newest):
        assert item.findtext("title") == article.title
        pub = item.findtext("pubDate")
        assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", pub), pub
        assert email.utils.parsedate_to_datetime(pub) == published_at(article)


def test_home_and_listings_paginate_every_article(articles):
    ordered = newest_first(articles)
    home = parse(PUBLIC / "index.html").find("ul", cls="items")
    assert [a.attrs["href"] for a in home.find_all("a") if a.parent.tag == "h2"] == \
        [f"/articles/{a.id}.html" for a in ordered[:10]]
    listings = {"/articles/": ordered}
    for category in corpus.categories():
        listings[f"/category/{category['slug']}/"] = [a for a in ordered if a.category == category["slug"]]
    for first_url, expected in listings.items():
        pages = follow_listing(first_url)
        assert len(pages) >= 2 and all(len(p) == 6 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 6, first_url
        assert [link for page in pages for link in page] == [f"/articles/{a.id}.html" for a in expected], first_url


def test_internal_links_resolve():
    missing = set()
    for page in PUBLIC.rglob("*.html"):
        for link in parse(page).find_all("a"):
            href = link.attrs.get("href", "").split("#")[0]
            if href and not page_path(href).is_file():
                missing.add((page.relative_to(PUBLIC).as_posix(), href))
    assert not missing, sorted(missing)[:10]
