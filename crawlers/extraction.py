"""Main-text extraction with trafilatura: plain text, kept HTML, title, author, date, language, links.

One page goes through these steps (extract_page):
  1. parse once; on a copy, turn layout tables into plain blocks and text written as lines
     between <br> tags (a forum post in a table cell, a note's <span> lines) into paragraphs,
     remove containers that are boilerplate by their well-known class, id or ARIA role (comments,
     related and recommended lists, 打赏/reward boxes, copyright statements, share bars, sidebars,
     QR codes) or by a heading that names readers' comments (网友评论), form boxes (a lead form and its
     invitation), and short repeated blocks that each carry a timestamp (comments and cards under
     any name); custom elements (<uni-view>) count as blocks;
  2. trafilatura in precision mode finds the main text; an END marker and reprint, copyright and
     follow-us notices (spaced-out and English copyright lines too), a reprint's print edition line,
     platform campaign lines, editorial and reporter credit lines (a release's 消息来源 line too), closing
     image credits (题图来源：…), a wire's standards line and app promotions at the text's
     edges are cut, a line of the page's buttons (举报) at its end, and a block of contact and organ
     lines or of topic tags at its end (a contact line among a notice's closing attachment and
     signature lines too); before its start the header's byline, player and labelled summary
     (摘要) lines; on a Q&A page the question's own paragraphs go before the answer, and a lead under a
     导语 label above the body goes before the text (导语 is the author's lead, 摘要 the site's abstract);
  3. the stored text is written from the extracted tree as plain text (no Markdown, no link syntax;
     inline code stays in its paragraph's line);
  4. links are counted on trafilatura's balanced-mode tree of the same cleaned page, between the
     main text's first and last block (precision mode drops teaser links, which would hide a
     listing page); topic tags ("#广交会") are not counted;
  5. the title is the article's own (the page title without the site's name, shown by a heading or,
     on a page without one, as a label's value; the heading above the text when <title> is only a
     name shown above it, as on an app's H5 mirror; the post's <h2> when the <h1> is the blog's name),
     the date comes from the page's markup only
     (crawlers.dates).
"""
import datetime as dt
import re
from copy import deepcopy
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.htmlprocessing import build_html_output
from trafilatura.utils import load_html

from crawlers.dates import class_tokens, in_foreign_container, publication_date

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
        # Teasers: each item's title is a link, so links are a fair share of the text. Inline links in
        # an article (a documentation page's cross-references) are a few words in a long text.
        return (self.link_count >= 3 and chars / self.link_count < min_chars_per_link
                and self.link_text_share >= TEASER_MIN_LINK_SHARE)


TEASER_MIN_LINK_SHARE = 0.1


# libxml2's HTML parser (lxml, under trafilatura) stops building the tree 256 elements deep: whatever a
# page nests deeper is lost. nesting_depth() says so when extraction finds no text (crawl reasons).
PARSER_MAX_DEPTH = 255
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^>]*?(/?)>")
# Elements without an end tag, or whose end tag is optional: they do not nest what follows them.
_NOT_NESTING = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                          "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
                          "thead", "tbody", "tfoot", "colgroup", "rt", "rp"})
_NOT_MARKUP = re.compile(r"<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->", re.S | re.I)


def nesting_depth(html: str) -> int:
    """How deep the page's elements nest, by a scan of its tags (a hint for a reason, not a parse)."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(_NOT_MARKUP.sub("", html)):
        name = name.lower()
        if name in _NOT_NESTING or self_closing:
            continue
        if closing:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def no_text_reason(html: str) -> str:
    """Why extraction found no main text, as precisely as the page shows."""
    depth = nesting_depth(html)
    if depth > PARSER_MAX_DEPTH:
        return (f"trafilatura found no main text: the page nests elements {depth} deep and the HTML parser stops "
                f"at {PARSER_MAX_DEPTH + 1}, so the text inside was lost")
    return "trafilatura found no main text"


def extract_page(html: str, url: str) -> ExtractedPage | None:
    """Returns the page's main content and metadata, or None when trafilatura finds no main text."""
    tree = load_html(html)
    if tree is None:
        return None
    cleaned = deepcopy(tree)
    _remove_hidden_and_notices(cleaned)
    _remove_leading_metadata_tables(cleaned)
    _unwrap_layout_tables(cleaned)
    _paragraphs_from_line_breaks(cleaned)
    _remove_boilerplate_containers(cleaned)
    _remove_form_boxes(cleaned)
    _remove_dated_items(cleaned)
    _remove_other_answers(cleaned)
    read = _read(cleaned, url)
    if read is None:
        return None
    document, body, main_text = _with_lists_kept(cleaned, url, read[2]) or read
    links, link_chars, linked_chars = _main_text_links(cleaned, url, main_text.split("\n"))
    title, title_element = _article_title(tree, document.title, main_text.split("\n"))
    _prepend_question(tree, title_element, body, main_text)
    _prepend_lead(tree, body, main_text)
    text = _plain_text(body)
    lines = text.split("\n")
    # The text's first line past the title: a header <time> stands between the two when the
    # extractor kept the <h1> in the body.
    start = next((line for line in lines if line != title), lines[0])
    day = publication_date(tree, url=url, title_element=title_element, body_start=start, body_end=lines[-1])
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


def _read(cleaned, url: str):
    """trafilatura's reading of the cleaned page with the notices cut: (document, body, text), or
    None when it finds no main text."""
    document = trafilatura.bare_extraction(cleaned, url=url, **EXTRACT_OPTIONS)
    if document is None:
        return None
    body = document.body
    _cut_notices(body, document.author or "")
    text = _plain_text(body)
    return (document, body, text) if text else None


def _with_lists_kept(cleaned, url: str, main_text: str):
    """The extraction again, with the text's container named an <article>, when the first one left
    out list items inside it (document, body, text), else None.

    When trafilatura recognizes no container of the article (a 问答 page's question-content, an old
    template's divs) it gathers the text paragraph by paragraph and loses lists: a how-to's numbered
    steps, a question's "what I tried". The container is the deepest element holding the text's
    first and last lines; naming it an <article> makes trafilatura read it whole, lists included.
    The second reading is kept only when it holds the same first and last lines and more text."""
    lines = main_text.split("\n")
    first, last = _squeezed(lines[0])[:20], _squeezed(lines[-1])[-20:]
    text = _squeezed(main_text)

    def dropped(root) -> int:
        return sum(1 for li in root.iter("li") if len(item := _squeezed(li.text_content())) >= 8 and item not in text)

    if dropped(cleaned) < 2:  # most pages: nothing to look for
        return None
    container = None
    for element in cleaned.iter("div", "section", "td", "body"):
        squeezed = _squeezed(element.text_content())
        if first in squeezed and last in squeezed:
            container = element  # document order: each later match lies inside the earlier one or after it
    if container is None or container.tag == "body" or any(a.tag in ("article", "main") for a in container.iterancestors()):
        return None
    if dropped(container) < 2:
        return None
    named = deepcopy(cleaned)
    named.xpath(cleaned.getroottree().getpath(container))[0].tag = "article"
    read = _read(named, url)
    if read is None:
        return None
    squeezed = _squeezed(read[2])
    if first not in squeezed[:200] or last not in squeezed or len(squeezed) <= len(text):
        return None
    return read


# Step 1: the cleaned page -------------------------------------------------------------------------

# Class and id words (crawlers.dates.class_tokens) of containers that are never the article, on
# Chinese and English sites alike; trafilatura's own list already covers navigation, footers,
# share bars, bylines and most comment sections.
_BOILERPLATE_WORDS = frozenset({
    "comment", "comments", "reply", "replies", "pinglun", "liuyan",  # comments (评论, 留言)
    "related", "recommend", "recommends", "recommended", "recommendation", "guess",  # related, 猜你喜欢
    "reward", "dashang", "donate",  # 打赏
    "copyright", "statement", "disclaimer", "shengming",  # copyright and platform statements (声明)
    "sidebar", "aside", "hotlist", "rank", "ranking",  # sidebars, 热榜
    "share", "toolbar", "qrcode",  # share and tool bars, QR codes
    "signature", "sign",  # a blog's or a forum's signature block under every post
    "bio", "biography", "authorbio", "authorbox",  # the author's bio box under a post ("About the author")
    "ad", "ads", "advert", "advertisement", "guanggao",  # 广告
    "breadcrumb", "breadcrumbs", "crumb",
    "download",  # "download our app"
    "popup", "modal",
})
_BOILERPLATE_ROLES = frozenset({"complementary", "contentinfo", "navigation", "dialog", "alertdialog"})
# The heading of a readers' comment section, its whole text: 网友评论, 读者留言（12）, 发表评论,
# 全部跟帖, 精选留言 (WeChat's), "3 Comments", "Leave a Reply". Old CMS templates name the section only by an
# abbreviation (帝国CMS's news_pl, "pl" for 评论) or not at all, but head it like this. Not 回复 or
# 点评: a 问政 page's official reply and an editor's commentary are headed so, and are the article.
_COMMENTS_HEADING = re.compile(
    r"^(?:(?:网友|读者|用户|最新|热门|精彩|精选|全部|相关|发表|我要|文章)?(?:评论|留言|跟帖|跟贴)(?:列表|区)?"
    r"|\d+\s*(?:条|则)(?:评论|留言|回复)|(?:\d+\s+)?(?:comments?|responses?|replies)|leave\s+a\s+(?:reply|comment))"
    r"\s*[(（]?\s*\d*\s*(?:条|则)?\s*[)）]?\s*[：:]?$",
    re.I,
)
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")
# Elements that hold blocks: an inline element (a, span) is never removed as a container.
_CONTAINERS = frozenset({"div", "section", "aside", "ul", "ol", "dl", "table", "p", "header", "footer", "nav",
                         "form", "li", "article", "figure"})
_CONTENT_WORDS = frozenset({"content", "article", "body", "main", "story", "entry", "text"})


def _is_custom_element(element) -> bool:
    """True for a custom element (<uni-view>, <van-cell>, <el-card>): a name with a hyphen, as HTML
    reserves for them. Vue, uni-app and web-component pages saved as rendered HTML (a 小程序's H5
    mirror) build every block from them, so they count as containers and repeated items too."""
    return isinstance(element.tag, str) and "-" in element.tag
_MAX_REMOVED_SHARE = 0.3  # a "container" with this share of the page's paragraph text is the article's


def _visible_chars(element) -> int:
    """Returns the number of characters of the element's text that are not white space."""
    return len("".join("".join(element.itertext()).split()))


# Inline styles that hide an element from readers; forums hide anti-copy "jammer" strings this way
# or by a class their stylesheet hides.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_HIDDEN_CLASSES = frozenset({"jammer", "hidden", "hide", "sr-only", "visually-hidden"})
# A forum's edit notice on a post: Discuz's "本帖最后由 仓管老李 于 2019-9-2 08:41 编辑", Dvbbs's
# "[此帖子已经被作者于2012-5-16 20:03:11编辑过]", PHPWind's "[ 此帖被老王在2013-03-02 10:11重新编辑 ]",
# and the English form.
_EDIT_NOTICE = re.compile(
    r"^(本帖最后由.{1,40}于.{6,30}编辑|\[?\s*此帖子?(?:已经)?被.{1,40}(于|在).{6,30}(重新)?编辑过?\s*\]?"
    r"|Last edited by .{1,40} on .{6,40})$", re.I)


# Only short hidden strings go: pages hide whole articles until a script reveals them (WeChat's
# js_content starts as visibility: hidden), and those are the text.
_MAX_HIDDEN_CHARS = 40


def _remove_hidden_and_notices(tree) -> None:
    """Removes short strings readers never see (hidden by an inline style, the hidden attribute or a
    hiding class: forums' anti-copy jammers) and forum edit notices, keeping the text around them."""
    body = tree.find("body")
    if body is None:
        return
    doomed = [element for element in body.iter()
              if isinstance(element.tag, str) and (
                  ((element.get("hidden") is not None or _HIDDEN_STYLE.search(element.get("style") or "")
                    or class_tokens(element) & _HIDDEN_CLASSES) and _visible_chars(element) <= _MAX_HIDDEN_CHARS)
                  or (len(element) == 0 and _EDIT_NOTICE.match(" ".join((element.text or "").split()))))]
    for element in doomed:
        if element.getparent() is not None and not any(a in doomed for a in element.iterancestors()):
            _remove(element)


_MAX_LABEL_CHARS = 8


_MAX_METADATA_VALUE_CHARS = 80  # a title, an issuing office, a date or an index number; not a letter
_MAX_METADATA_ROWS = 20  # a procurement notice's 公告概要 holds 15 fields
_GROUP_LABEL = re.compile(r"^[\u4e00-\u9fffA-Za-z（）()及和与]{2,12}[：:]$")


def _remove_leading_metadata_tables(tree) -> None:
    """Removes label/value tables above the article's text: a government notice's 索引号 | 发布机构 |
    成文日期 block, a record's fields. A table counts when every row alternates short labels (at
    most 8 characters, no digits) with short values, and no paragraph of text comes before it; a
    specification table inside the article comes after its first paragraphs and stays, and a record
    whose value is the text itself (a 市长信箱 letter's 信件内容 | the letter, 回复内容 | the reply) is
    the article, not its metadata."""
    body = tree.find("body")
    if body is None:
        return
    for element in body.iter("table", "p"):
        if element.tag == "p":
            if _visible_chars(element) >= 30:
                return  # the article's text has begun
            continue
        rows = [row for row in element.iter("tr") if next(row.iterancestors("table"), None) is element]
        cells = [[cell for cell in row if cell.tag in ("td", "th")] for row in rows]
        # a row of one cell may head a group of fields (公告概要：, 联系人及联系方式：)
        cells = [row for row in cells if not (len(row) == 1 and _GROUP_LABEL.match(_block_text(row[0])))]
        if not 1 <= len(cells) <= _MAX_METADATA_ROWS or any(len(row) < 2 or len(row) % 2 for row in cells):
            continue
        labels = [_block_text(row[i]) for row in cells for i in range(0, len(row), 2)]
        values = [_visible_chars(row[i]) for row in cells for i in range(1, len(row), 2)]
        if (all(label and len(label) <= _MAX_LABEL_CHARS and not any(c.isdigit() for c in label) for label in labels)
                and max(values, default=0) <= _MAX_METADATA_VALUE_CHARS):
            _remove(element)


def _unwrap_layout_tables(tree) -> None:
    """Turns tables used for page layout into plain blocks, so that the extractor judges their parts.

    Old Chinese sites lay whole pages out in tables (menu, sidebar, body and footer in cells), which
    trafilatura keeps as one data table. Which tables hold data is readability's rule: a caption,
    summary, header cells or column groups, or at least 10 rows, more than 4 columns or more than
    10 cells; a table inside a table, or role="presentation", is layout.
    """
    for table in list(tree.iter("table")):
        if not _is_data_table(table):
            own = [e for e in table.iter("tbody", "thead", "tfoot", "tr", "td", "th")
                   if next(e.iterancestors("table"), None) is table]  # a data table inside stays a table
            for element in [table, *own]:
                element.tag = "div"


def _is_data_table(table) -> bool:
    if table.get("role") in ("presentation", "none") or table.get("datatable") == "0":
        return False
    caption = table.find("caption")
    if table.get("summary") or (caption is not None and _block_text(caption)):
        return True
    own = [e for e in table.iter("tr", "th", "thead", "tfoot", "col", "colgroup", "table")
           if e is not table and next(e.iterancestors("table"), None) is table]
    if any(e.tag == "table" for e in own):
        return False
    if any(e.tag in ("th", "thead", "tfoot", "col", "colgroup") for e in own):
        return True
    rows = [e for e in own if e.tag == "tr"]
    columns = max((sum(int(c.get("colspan") or 1) if (c.get("colspan") or "1").isdigit() else 1
                       for c in row if c.tag in ("td", "th")) for row in rows), default=0)
    return len(rows) >= 10 or columns > 4 or len(rows) * columns > 10


# Elements that start a block of their own: an element holding one is not a run of lines.
_BLOCK_LEVEL = frozenset({"p", "div", "table", "ul", "ol", "dl", "li", "pre", "blockquote", "section", "article",
                          "header", "footer", "aside", "nav", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
                          "figure", "main"})
_MIN_LINE_BREAKS = 2
_MIN_LINES_CHARS = 100


def _paragraphs_from_line_breaks(tree) -> None:
    """Turns text written as lines between <br> tags, outside any paragraph, into paragraphs.

    Old forums put a post's text straight into a table cell split by <br><br>, often after a small
    table with the floor's number and time; note and microblog sites write a note as <span> lines
    ended by <br>. trafilatura takes such a block for one short run of inline text (or none) and,
    where every floor's cell has the same class, may take a one-line reply for the article. A block
    counts when it has at least two <br> of its own and 100 characters of text outside its block
    children; each run of text and inline elements between two <br>s (or a <br> and a block child)
    becomes a <p>, block children stay where they are, and the block (a <span> too) becomes a <div>.
    Inner blocks go first, so that an outer one sees them as blocks.
    """
    body = tree.find("body")
    if body is None:
        return
    for element in reversed(list(body.iter("div", "td", "th", "span", "font", "section", "article", "p"))):
        children = list(element)
        if sum(1 for child in children if child.tag == "br") < _MIN_LINE_BREAKS:
            continue
        inline_chars = _squeezed_len(element.text) + sum(
            _squeezed_len(child.tail) if _is_block(child) else _visible_chars(child) + _squeezed_len(child.tail)
            for child in children)
        if inline_chars < _MIN_LINES_CHARS:
            continue
        items: list = []  # the new children: blocks as they are, and runs of inline content as lists
        run: list = [element.text or ""]  # a run: its leading text, then its inline elements
        for child in children:
            element.remove(child)
            if child.tag == "br" or _is_block(child):
                items.append(run)
                if child.tag != "br":
                    items.append(child)
                run = [child.tail or ""]
                child.tail = None
            else:
                run.append(child)  # keeps its tail, which moves with it into the paragraph
        items.append(run)
        element.text = None
        if element.tag in ("span", "font", "p"):
            element.tag = "div"
        for item in items:
            if not isinstance(item, list):
                element.append(item)
            elif item[0].strip() or any(_visible_chars(child) or (child.tail or "").strip() for child in item[1:]):
                paragraph = etree.SubElement(element, "p")
                paragraph.text = item[0]
                for child in item[1:]:
                    paragraph.append(child)


def _is_block(element) -> bool:
    return isinstance(element.tag, str) and element.tag in _BLOCK_LEVEL


def _is_comments_section(element) -> bool:
    """True for a container whose first child is a heading that names readers' comments (网友评论)."""
    first = next((child for child in element if isinstance(child.tag, str)), None)
    return (first is not None and first.tag in _HEADINGS and not (element.text or "").strip()
            and bool(_COMMENTS_HEADING.match(_block_text(first))))


def _remove_boilerplate_containers(tree) -> None:
    """Removes containers named as boilerplate (_BOILERPLATE_WORDS, ARIA roles) or headed as readers'
    comments (_COMMENTS_HEADING) that do not hold the article.

    A container is kept, whatever its name, when it also has a content word in its name
    ("content-with-sidebar", "article-body sidebar-fixed"), holds the title's <h1> or the marked-up
    article body, or holds a large share of the page's paragraph text: then it is the article's
    wrapper, named for its layout.
    """
    body = tree.find("body")
    if body is None:
        return
    doomed = []
    for element in body.iter():
        if not (element.tag in _CONTAINERS or _is_custom_element(element)):
            continue
        words = class_tokens(element)
        if (element.get("role") in _BOILERPLATE_ROLES or words & _BOILERPLATE_WORDS or _is_comments_section(element)) \
                and not words & _CONTENT_WORDS:
            doomed.append(element)
    if not doomed:
        return
    paragraph_chars = max(1, sum(_visible_chars(p) for p in body.iter("p")))
    removed = set()
    for element in doomed:
        if any(a in removed for a in element.iterancestors()):
            continue  # already gone with an ancestor
        if element.find(".//h1") is not None or element.xpath(".//*[contains(concat(' ', @itemprop, ' '), ' articleBody ')]"):
            continue
        if sum(_visible_chars(p) for p in element.iter("p")) > _MAX_REMOVED_SHARE * paragraph_chars:
            continue
        removed.add(element)
        _remove(element)


# What a box may say besides its form: a heading and an invitation (获取同类方案 / 留下您的联系方式，…).
_MAX_FORM_BOX_CHARS = 150


def _remove_form_boxes(tree) -> None:
    """Removes a form with fields (a lead, contact, subscription or comment form) and the box it sits in
    when the box says little else: its heading and its invitation line (留下您的联系方式，我们的工程师将
    …与您联系。, "Sign up for our newsletter"), which are the site's, not the article's. A form that
    holds the <h1> or a large share of the paragraph text is the page's wrapper (ASP.NET pages put the
    whole page in one <form>) and stays, and so does the box of a form that says more."""
    body = tree.find("body")
    if body is None:
        return
    paragraph_chars = max(1, sum(_visible_chars(p) for p in body.iter("p")))
    for form in list(body.iter("form")):
        if form.getparent() is None or not form.xpath(".//input[not(@type='hidden')] | .//textarea | .//select"):
            continue
        if form.find(".//h1") is not None or \
                sum(_visible_chars(p) for p in form.iter("p")) > _MAX_REMOVED_SHARE * paragraph_chars:
            continue
        box = form.getparent()
        says_little = _visible_chars(box) - _visible_chars(form) <= _MAX_FORM_BOX_CHARS
        if box.tag not in ("body", "html", "main", "article") and box.find(".//h1") is None and \
                not class_tokens(box) & _CONTENT_WORDS and says_little:
            form = box
        _remove(form)


# The whole text of a timestamp element in a comment, a feed card or a related list.
_ITEM_TIMESTAMP = re.compile(
    r"^[\[(（【]?(?:(?:\d{4}[-/.年])?\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d+\s*(?:秒|分钟|小时|天|周|个月|年)前|刚刚|(?:昨天|前天)(?:\s*\d{1,2}:\d{2})?"
    r"|\d+\s+(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\s+ago)[\])）】]?$",
    re.I,
)
_MAX_ITEM_CHARS = 300
# What templates repeat for comments and cards; table rows are left alone, a table is data.
_ITEM_TAGS = frozenset({"div", "li", "article", "section", "dl", "dd"})

# A Q&A page's answers: items named answers, the accepted or best one marked by its class or by a
# tag of its own (CSDN 问答's 已采纳, 百度知道's and 搜狗问问's 最佳答案, Stack Exchange's accepted-answer).
_ANSWER_WORDS = frozenset({"answer", "answers", "reply", "replies"})
_ACCEPTED_WORDS = frozenset({"accepted", "accept", "best", "adopt", "adopted", "adoption"})
_ACCEPTED_TAG = re.compile(r"^(?:已采纳|采纳答案|最佳答案|最佳回答|提问者采纳|Accepted(?: answer)?)$", re.I)


def _is_accepted_answer(element) -> bool:
    words = class_tokens(element)
    if not words & _ANSWER_WORDS:
        return False
    if words & _ACCEPTED_WORDS:
        return True
    return any(_ACCEPTED_TAG.match(_block_text(tag)) for tag in element.iter("span", "em", "i", "b", "strong", "label")
               if not _in_answer_text(tag, element))


def _in_answer_text(tag, answer) -> bool:
    """True when `tag` sits in the answer's text (a 最佳答案 in bold there is the writer's, not the mark)."""
    for ancestor in tag.iterancestors():
        if ancestor is answer:
            return False
        if class_tokens(ancestor) & _CONTENT_WORDS:
            return True
    return False


def _remove_other_answers(tree) -> None:
    """On a Q&A page whose answer items mark one accepted (or best), removes the other answers beside
    it: the article is the question and that answer. Pages that mark none keep their answers (the
    extractor and the comment rules judge them)."""
    for element in list(tree.iter(*_ITEM_TAGS)):
        if element.getparent() is None or not _is_accepted_answer(element):
            continue
        for sibling in element.getparent():
            if sibling is not element and sibling.tag in _ITEM_TAGS and class_tokens(sibling) & _ANSWER_WORDS \
                    and not class_tokens(sibling) & _CONTENT_WORDS and not _is_accepted_answer(sibling):
                _remove(sibling)


def _remove_dated_items(tree) -> None:
    """Removes short repeated items that each carry a timestamp: comments, feed cards, related lists.

    Items are sibling blocks (never table rows: a table is data) with the same tag and class, at
    least two, each holding an element whose whole text is a date or a time ("2024-09-19 13:05",
    "3天前"). A long item (a forum's opening post) stays: only what a template repeats in short is
    taken for a list of other things.
    """
    body = tree.find("body")
    if body is None:
        return
    doomed = []
    for parent in body.iter():
        groups: dict[tuple, list] = {}
        for child in parent:
            if (child.tag in _ITEM_TAGS or _is_custom_element(child)) and child.get("class"):
                groups.setdefault((child.tag, child.get("class")), []).append(child)
        for members in groups.values():
            if len(members) >= 2 and all(_has_timestamp(m) for m in members):
                doomed.extend(m for m in members if _visible_chars(m) <= _MAX_ITEM_CHARS and m.find(".//h1") is None)
    for element in doomed:
        if element.getparent() is not None:
            _remove(element)


def _has_timestamp(element) -> bool:
    return any(d is not element and len(d) == 0 and _ITEM_TIMESTAMP.match(" ".join((d.text or "").split()))
               for d in element.iter())


def _remove(element) -> None:
    """Removes the element, keeping its tail text in the document."""
    parent = element.getparent()
    if element.tail and element.tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


# Step 2: the main text's edges, and the question of a Q&A page --------------------------------

# A block that ends the article ("- END -", "（完）"): what follows is the platform's, not the author's.
_END_MARKER = re.compile(r"^[\s\-—–_=·.。…()（）【】\[\]]*(END|THE END|完|全文完|本文完)[\s\-—–_=·.。…()（）【】\[\]]*$", re.I)
# Short Chinese notices at the start or the end of an article: reprint and source lines, copyright
# and platform statements, calls to follow or share. Never cut from the middle of the text.
_EDGE_NOTICE = re.compile(
    r"^[（(【\[]?(本文(来自|转载自|转自|来源|首发|经授权|为.{0,20}(原创|授权|上传|发布))|转载自|转自|来源[：:]|原标题[：:]|"
    r"(文章|原文|此文)(来源于|转载自|转自|首发于|原载于|摘自|选自|编译自)|经授权(转载|发布|刊发|刊登)(自|于|[。，,；;）)]|$))|"
    r"^(点击(上方|蓝字)|(特别|免责|版权)?声明[：:]|作者[：:].{0,30}$)"
    r"|未经(作者)?授权|禁止转载|转载请|版权归.{0,20}所有|著作权归|版权所有|仅代表(该)?作者(本人)?(观点|立场)|"
    r"不代表.{0,10}(立场|观点)|如有侵权|长按(识别)?二维码|扫码关注|关注(我们|公众号)|点个?[“\"]?在看"
    # "download our app" or "open it" under the article (扫描二维码下载…APP, 下载…客户端, 打开某某APP，查看更多…),
    # a line and not a sentence
    r"|^(扫描|扫一扫|扫码|长按|(点击|立即)?(下载|打开)|前往|进入)[^。！？]{0,16}(二维码|[Aa][Pp][Pp]|客户端)[^。]*$"
    # a QR widget's caption: scan to open, read or share this page on a phone (扫一扫在手机打开当前页)
    r"|^(扫一扫|扫码|扫描(二维码)?|手机扫码|微信扫码|微信扫一扫)[^。！？]{0,20}"
    r"(当前页面?|本页面?|此页面?|本文|该文|这篇文章|文章|朋友圈|分享)[^。]*$"
    # a platform's campaign or contest line (本文已参与「…」活动, 我正在参加…计划, 本文为…征文参赛作品)
    r"|^((本文|本篇|此文)(已|正在|正)?|我正在)(参与|参加|入选|报名参加)了?[^。！？，,]{0,40}?(活动|征文|计划|挑战赛?|大赛|比赛|话题)"
    r"|^本文(为|是)[^。！？]{0,30}(参赛|征文|投稿)(作品|稿件|文章)"
    # a reprint's print edition line, the paper, the day and the page, the whole line:
    # 《 某某日报 》（ 2025年04月16日 18 版）, （《某某日报》2024年11月08日 第07版）
    r"|^[（(]?\s*《[^《》]{2,20}》\s*[（(，,]?\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"\s*(?:第\s*)?(?:[0-9A-Za-z]{1,4}\s*版)?\s*[）)]{0,2}$"
    # … or the article's own line naming where it was printed (（本文刊登于《医药经济周报》2025年7月15日第B3版）)
    r"|^[（(]?(?:本文|此文|原文)?(?:原)?(?:刊登|刊发|刊载|发表|载)(?:于|在)\s*《[^《》]{2,20}》[^。\n]{0,30}[）)]?$"
    # an audio player's line (听全文 AI 朗读 约4分钟, 语音播报 00:00/03:12), a control and not a sentence
    r"|^(?:听全文|收听全文|收听本文|全文朗读|朗读全文|AI\s*朗读|语音播报|听新闻|听文章)[^。！？，,]{0,20}$"
    # a closing image-credit line (封面图片来源：…, 题图来源：…, 图片来源：… 资料图), the whole line
    r"|^[（(]?(?:(?:封面|题图|头图|首图|文中|本文)(?:图片|配图|图)?|图片|配图)\s*(?:来源|来自|提供|出处)\s*[：:|｜丨]"
    r"[^。！？]{1,40}[）)]?$"
    # a labelled disclaimer (温馨提示：本裁判文书仅供参考，以…正本为准。 【收听提示】…仅代表嘉宾个人观点，不构成任何投资建议。)
    r"|^[【\[]?(?:温馨|特别|友情|重要|收听|阅读|风险)?提示[】\]]?\s*[：:]?[^\n]{0,80}?"
    r"(?:仅供参考|不构成[^。\n]{0,10}建议|仅代表[^。\n]{0,20}(?:观点|立场)|以[^。\n]{1,20}为准)[^\n]{0,40}$"
    # a transcript's note (根据现场速记整理，未经演讲者本人审阅)
    r"|^[（(]?(?:根据|据|本文(?:根据|据)?)?[^。\n]{0,12}(?:速记|录音|发言|演讲)(?:稿)?整理[^。\n]{0,30}[。）)]?$"
    # a QR code's "scan to watch, sign up or read the rest" caption
    r"|^(?:扫码|扫描二维码|扫一扫|长按识别二维码)\s*(?:观看|收看|回看|查看|阅读|报名|预约|领取|下载|关注)[^。\n]{0,24}$"
    # a programme's music credit (BGM：…, 背景音乐：…)
    r"|^(?:BGM|背景音乐|片头音乐|片尾音乐|配乐)\s*[：:][^。\n]{1,60}$"
    # a reprint's link to its original, the whole line (原文链接：https://…, 原文地址: …)
    r"|^(?:原文链接|原文地址|本文链接|文章链接)\s*[：:]\s*\S{0,300}$"
    # a line of the page's own buttons only (举报, 纠错, 【打印】【关闭】, 收藏 分享)
    r"|^(?:[【\[]?\s*(?:举报|我要纠错|纠错|打印(?:本页|文章|此页)?|关闭(?:窗口|本页)?|收藏(?:本文)?|分享(?:到)?|返回顶部)"
    r"\s*[】\]]?\s*)+$"
)
# An editor's note label before a reprint note (钛媒体注：本文来源于…，经授权发布。 编者注：本文转载自…,
# 【编者按】本文经授权转载自…): the platform's note about where the text comes from, cut at either edge
# when what follows the label is such a notice; a labelled note saying anything else (注：文中数据来源于
# 企业年报。) is the article's and stays.
_NOTE_LABEL = re.compile(
    r"^(?:[【\[（(]\s*(?:编者按|编者注|编按|编注|[0-9A-Za-z\u4e00-\u9fff]{0,10}?注)\s*[】\]）)]\s*[：:]?"
    r"|(?:编者按|编者注|编按|编注|[0-9A-Za-z\u4e00-\u9fff]{0,10}?注)\s*[：:])\s*")
# An English copyright line, as a site's footer carries it: a year after the sign, or "All Rights
# Reserved". A news agency's "© Reuters" under a wire story names the source and stays.
_ENGLISH_COPYRIGHT_LINE = re.compile(
    r"^(?:copyright\b\s*(?:©|\(c\))?|©|\(c\))\s*(?:19|20)\d{2}\b.{0,100}$|all rights reserved\.?$", re.I)
# An English credit line, the whole line: "Written by: Lin Zhiyuan  Edited by: Zhao Yiran, Sarah
# Whitfield", "Photos: Chen Lu | Editor: Mark Potter". Each credit is a role, an optional "by", a
# colon and capitalized names; a sentence ("Edited by hand, the data…") has no colon after its role.
_EN_ROLE = (r"(?i:written|reported|edited|editor|editors|text|story|words|photos?|photography|images?|video|"
            r"translated|translation|translator|proofread|reviewed|compiled|produced|producer|designed|layout|"
            r"contributed|source)(?:\s+and\s+[a-z]+)?(?:\s+by)?")
_EN_NAMES = r"[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){0,3}(?:\s*(?:,|and|&)\s*[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){0,3})*"
_ENGLISH_CREDIT_LINE = re.compile(rf"^(?:{_EN_ROLE}\s*:\s*{_EN_NAMES}(?:\s*[|;/]\s*|\s+|$))+$")
# A wire service's standards line under every story ("Our Standards: The Thomson Reuters Trust Principles."):
# the agency's notice about its rules, not the story's.
_ENGLISH_STANDARDS_LINE = re.compile(r"^our (?:editorial )?standards\s*:\s*.{0,80}\b(?:principles|standards|policy)\.?$", re.I)
# Footers space out their copyright line character by character ("某 某 网 版 权 所 有"); notices
# are matched with the spaces between Chinese characters taken out.
_SPACED_CJK = re.compile(r"(?<=[\u3400-\u9fff，。、：；])\s+(?=[\u3400-\u9fff，。、：；])")
# An editorial credit line, the whole line: 责任编辑：张三, （编辑：张三 校对：李四 审核：王五）, 文/张三 编辑/李四,
# 编辑 | 张三, 来源：新华社. Each credit is a role, a separator and a name or an organ (no sentence
# punctuation); a sentence that mentions an editor ("编辑部的同事告诉记者，……") is not one.
_CREDIT_ROLE = (
    r"(?:责任编辑|责编|本文编辑|文字编辑|图片编辑|美术编辑|视频编辑|值班编辑|编辑|美编|编校|校对|审校|审核|审稿|"
    r"初审|复审|终审|一审|二审|三审|编审|签发|监制|统筹|策划|主编|制作|作者|撰文|撰稿|供稿|供图|投稿|排版|"
    r"记者|通讯员|实习生|摄影|摄像|文|图|"
    r"来源|稿源|文章来源|本文来源|信息来源|图片来源|消息来源|新闻来源)"
)
_CREDIT_NAME = r"[^\s，,。！？!?；;：:|｜丨/（）()【】\[\]]"
# A news reporter's credit names the organ before the role and needs no colon: 本报记者 张三 李四,
# 新华社记者 王五, 某某新闻记者 赵六 实习生 钱七, 21世纪经济报道记者 孙八 深圳报道; several names follow one
# role, split by spaces or 、, and the line may close with the place it was filed from (深圳报道, 发自上海).
_REPORTER_ROLE = r"(?:[0-9A-Za-z\u4e00-\u9fff]{0,12}?(?:特约|见习|首席)?(?:记者|通讯员))"
_PERSON = r"[\u4e00-\u9fff·]{2,6}"
# A portal's staff code after an editor's name (责任编辑：张三 NF025, [责编：李四 PSH009]), letters then digits.
_STAFF_CODE = r"(?:\s+[A-Z]{1,4}\d{2,6})"
# 责任编辑：(empty) too
# A staff role after the organ's name, with a separator before the name (界面新闻记者 | 张三, 某某日报编辑丨李四,
# 融媒记者 / 王五); not a sentence's words (她是一名编辑/记者: 是, 的, 了 are no organ's).
_ORGAN_ROLE = (r"(?:(?![是的了为])[0-9A-Za-z\u4e00-\u9fff]){2,12}?"
               r"(?:责任编辑|责编|编辑|主编|美编|校对|审核|记者|通讯员|实习生|摄影|摄像)")
# (a role's value may be an organ and a title, a space, then the name: 审核：市疾控中心职业卫生所副主任医师　蒋文涛)
_CREDIT = (rf"(?:{_CREDIT_ROLE}(?:\s*[：:|｜丨/]\s*{_CREDIT_NAME}{{0,24}}(?:\s+{_PERSON}){{0,2}}|\s+{_CREDIT_NAME}{{1,24}})"
           rf"{_STAFF_CODE}?"
           rf"|{_ORGAN_ROLE}\s*[：:|｜丨/]\s*{_CREDIT_NAME}{{1,24}}{_STAFF_CODE}?"
           rf"|{_REPORTER_ROLE}\s*{_PERSON}(?:\s*[\s、]\s*{_PERSON}){{0,5}})")
_FILED_FROM = r"(?:\s*(?:[\u4e00-\u9fff]{2,8}?(?:报道|电)|发自[\u4e00-\u9fff]{2,8}))"
# A news page's dateline may open the credit line: 2025-06-18 07:41 来源：某某新闻.
_DATELINE = r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s+)"
_CREDIT_LINE = re.compile(
    rf"^{_DATELINE}?[（(【\[]?{_CREDIT}(?:(?:\s+|\s*[，,；;|｜丨]\s*){_CREDIT})*{_FILED_FROM}?[）)】\]]?$")
# A contact or organ line at the article's end, the whole line, label and value: 解读机关：省商务厅,
# 解读人：处长 沈立群, 联系电话：0571-…, 传真, 邮箱, 地址, 发布机构, 主办单位 (a government page's
# 解读 block, a press release's contact block).
_CONTACT_LINE = re.compile(
    r"^(?:[\u4e00-\u9fff]{0,8}(?:电话|热线|传真|邮箱|信箱|地址|联系人)|联系方式|联系部门|联系单位|手机|邮编|邮政编码|"
    r"网址|E-?mail|QQ|微信号?|解读(?:机关|部门|单位|人|专家)|发布(?:机构|机关|单位|部门)|发文(?:机关|单位)|"
    r"(?:主办|承办|协办|供稿)单位)\s*[：:]\s*\S.{0,80}$"
    # a department's phone line (人力资源部：0571-86539012, 销售中心：400-800-1234)
    r"|^[\u4e00-\u9fff]{2,10}(?:部|处|科|室|中心|办公室|办)\s*[：:]\s*\+?\d[\d\s-]{6,20}$",
    re.I,
)
_MAX_NOTICE_CHARS = 120
# A summary box above the article, labelled as one (摘要：…, 【内容提要】…, 核心提示：…): the site's abstract
# field shown before the text, as the meta description is. A standfirst the article opens with, not
# labelled so (a subtitle, a lead line), is the article's own and stays.
_SUMMARY_BOX = re.compile(
    r"^(?:[【\[]\s*(?:内容|文章|本文|AI\s*)?(?:摘要|提要)\s*[】\]]|(?:内容|文章|本文|AI\s*)?(?:摘要|提要)\s*[：:]|核心提示\s*[：:])")
_MAX_SUMMARY_CHARS = 300
# A month and day with an optional time, as headers write them (05-20 19:45:00, 9月3日); a year before it.
_MONTH_DAY_TIME = r"\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
_YEAR = r"\d{4}[-/.年]"
# A header's line of metadata only, as document and blog platforms show it under the title: an
# author's name, a labelled or bare date ("最近修改：9月3日", "发布于 2025-09-03 10:12") and a count of
# readers ("1,204 次阅读", "阅读 5.6W", "浏览量：3456"), in any order, with at least a date or a count.
_META_DATE = (r"(?:(?:最近修改|最后修改|修改于|最后更新|更新于|更新时间|发布于|发布时间|发表于|编辑于|创建于)\s*[：:]?\s*)?"
              rf"(?:{_YEAR})?{_MONTH_DAY_TIME}")
_META_COUNT = (r"(?:\d[\d,.]*\s*[万wWkK]?\+?\s*次?\s*(?:阅读|浏览|观看|人看过|人阅读)"
               r"|(?:阅读|浏览|观看)(?:量|数)?\s*[：:]?\s*\d[\d,.]*\s*[万wWkK]?\+?(?:\s*次)?)")
_META_NAME = r"[\u4e00-\u9fffA-Za-z·]{2,12}"
# a post's category and tags in its header line (分类：车间杂记 | 标签：车床 数控 老厂), as blog platforms show them
_META_LABELLED = r"(?:分类|标签|栏目|频道)\s*[：:]\s*[\u4e00-\u9fffA-Za-z0-9·]{1,12}(?:\s+[\u4e00-\u9fffA-Za-z0-9·]{1,12}){0,5}"
_HEADER_META_LINE = re.compile(
    rf"^(?:(?:{_META_LABELLED}|{_META_NAME}|{_META_DATE}|{_META_COUNT})(?:\s*[|｜丨·/]\s*|\s+|$))+$")
# A newspaper's byline under its marker (□ 营销中心 顾文涛, ■ 本报记者 张三 李四), as e-paper pages print it.
_MARKED_BYLINE = re.compile(r"^[□■]\s*[\u4e00-\u9fff]{2,12}(?:\s+[\u4e00-\u9fff·]{2,6}){0,3}$")
# A media account's byline: its name and its WeChat account (量子位 | 公众号 QbitAI), the whole line,
# wherever it stands (under a subtitle and the author's line, as WeChat-born media print it).
_ACCOUNT_BYLINE = re.compile(r"^(?:[\u4e00-\u9fff]{2,6}\s+)?[\u4e00-\u9fffA-Za-z·]{2,12}\s*[|｜丨]\s*公众号\s*[：:]?\s*[0-9A-Za-z_\u4e00-\u9fff]{2,20}$")
# A blog's or a portal's sidebar widget line that lands above the text: 今日天气：常州 晴 24～31℃,
# 访问统计：总访问量 86231, 博客等级：12 (网易, 新浪 blogs' 挂件).
_WIDGET_LINE = re.compile(r"^(?:今日天气|天气预报|访问统计|总访问量|今日访问|在线人数|博客等级|博客积分|博客访问|博客排名)"
                          r"\s*[：:]\s*[^。！？\n]{1,30}$")
_HEADER_META_PART = re.compile(rf"{_META_DATE}|{_META_COUNT}")
# The byline lines a header shows above the text: the source and its date-time (第一财经 2025-05-20
# 19:45:00, or run together as 每日经济新闻2025-10-16 21:08:41 when the name does not end in a digit),
# or the author's name alone (the page's author metadata, see _cut_notices).
_SOURCE_DATELINE = re.compile(
    r"^(?:[0-9A-Za-z\u4e00-\u9fff·]{2,20}\s+|[0-9A-Za-z\u4e00-\u9fff·]{1,19}[A-Za-z\u4e00-\u9fff·])"
    rf"{_YEAR}{_MONTH_DAY_TIME}$")
# The closing lines of an official notice after its text: an attachment line, the organ's signature and
# its date (附件：…名单 / 某某县农业农村局 / 2025年6月10日). A contact line among them goes (_cut_notices).
_ATTACHMENT_LINE = re.compile(r"^附件\s*\d*\s*[：:.]")
_SIGNATURE_LINE = re.compile(r"^(?:[\u4e00-\u9fff（）()]{2,30}|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)$")
_BLOCK_TAGS = frozenset({"div", "p", "section", "ul", "ol", "table", "pre", "blockquote", "h1", "h2", "h3"})
# Containers that name a question: Q&A sites' question blocks, schema.org Question items.
_QUESTION_WORDS = frozenset({"question", "ask"})


def _block_text(element) -> str:
    return " ".join("".join(element.itertext()).split())


# A news photo's caption, the whole line: 图为…。（记者 某某摄）, 上图：…  某某 摄. Captions sit between the
# paragraphs they illustrate, so they go wherever they are; a sentence that opens with 图为 and says
# something else ("图为该公司提供的数据，显示…。") has no photographer's credit at its end.
_PHOTO_CAPTION = re.compile(
    r"^[（(]?(?:图为|图片为|上图[：:为]?|下图[：:为]?|图[：:])[^\n]{2,150}?"
    r"[\s（(，,。]*(?:[\u4e00-\u9fff]{0,12}(?:记者|通讯员|特约摄影|摄影|实习生)\s*)?[\u4e00-\u9fff·]{2,8}\s*(?:摄|供图)[）)]?$")


# The source note under a table or chart (资料来源：公司公告，某某证券研究所; 数据来源：国家统计局, Wind):
# a caption of data, not the article's prose, on its own line wherever it stands.
_DATA_SOURCE_NOTE = re.compile(r"^[（(]?(?:资料|数据)来源\s*[：:][^。\n]{2,60}[。）)]?$")


# A content platform's counters and edit stamp, pasted with the text when an article is reposted or
# saved from it (知乎's 312 人赞同了该文章, 赞同 312 · 48 条评论, 编辑于 2025-07-18 10:22・IP 属地上海):
# interface, never prose, on their own line wherever they stand.
_PLATFORM_UI_LINE = re.compile(
    r"^(?:\d[\d,.]*\s*[万千kK]?\s*人赞同了该(?:文章|回答)"
    r"|赞同\s*\d[\d,.]*\s*[万千kK]?(?:\s*[·・|｜]\s*\d[\d,.]*\s*条评论)?"
    rf"|(?:编辑|发布)于\s*(?:(?:{_YEAR})?{_MONTH_DAY_TIME}|(?:昨天|今天|前天|\d+\s*(?:分钟|小时|天)前)(?:\s*\d{{1,2}}:\d{{2}})?)"
    r"(?:\s*[·・]?\s*IP\s*属地\s*[：:]?\s*[\u4e00-\u9fff]{2,8})?)$")


# A fact box closing an event's or a product's news, under a bracketed heading of its own
# (【展会信息】, 【活动信息】, 【联系方式】): label and value lines (展会时间：…, 展位咨询：李女士 020-…) and a
# QR code's "scan to register" caption. The box is cut whole; label lines without such a heading stay.
_FACT_BOX_HEADING = re.compile(r"^[【\[][^】\]\n]{2,10}[】\]]$")
_FACT_BOX_LINE = re.compile(r"^[\u4e00-\u9fff]{2,8}\s*[：:][^\n]{1,60}$"
                            r"|^(?:扫码|扫描(?:下方|上方|左侧|右侧)?二维码|扫一扫|长按识别(?:二维码)?|微信扫码)[^。\n]{2,30}$")


# A shop's product tiles under its story or news (阿禾家 猪肉白菜手工水饺 1kg约50只￥39.90月销 1.2万+): a name and a
# price, a line each; and the shop's service and licence lines beside them.
_PRICE_TILE = re.compile(r"^[^\n。！？]{2,60}?[￥¥]\s*\d[\d,.]*[^\n。！？]{0,30}$")
_SHOP_SERVICE_LINE = re.compile(r"^(?:客服(?:在线|工作)?时间|营业时间|发货时间|(?:食品)?经营许可证(?:编号)?|营业执照(?:注册号)?)\s*[：:]"
                                r"[^。！？\n]{1,80}$")
_SHORT_HEADING = re.compile(r"^[\u4e00-\u9fffA-Za-z]{2,8}$")


def _cut_product_tiles(body) -> None:
    """Cuts the product tiles at the end of the text (at least two priced lines), the shop's service
    and licence lines among or after them, and the short heading above them (本店热卖, 猜你喜欢)."""
    blocks = list(body)
    end, tiles = len(blocks), 0
    while end > 1:
        lines = _plain_text(blocks[end - 1]).split("\n")
        if not all(_PRICE_TILE.match(line) or _SHOP_SERVICE_LINE.match(line) for line in lines):
            break
        tiles += sum(bool(_PRICE_TILE.match(line)) for line in lines)
        end -= 1
    if tiles < 2:
        return
    if end > 1 and _SHORT_HEADING.match(_block_text(blocks[end - 1])):
        end -= 1
    for block in blocks[end:]:
        body.remove(block)


# A record of the work's fields after its text (a thesis page's 导师： / DOI： / 分类号： list, each label on its
# line and its value on the next), and a "more" toggle before it.
_RECORD_LABEL = re.compile(r"^[\u4e00-\u9fffA-Za-z]{2,10}\s*[：:]$")
_TOGGLE_LINE = re.compile(r"^(?:更多|展开|展开全文|收起|查看更多|more|show more)$", re.I)
_PROSE_LINE = re.compile(r"[^\n]{40,}[。！？]$")


def _cut_trailing_record(body) -> None:
    """Cuts a record of labelled fields after the text (3 or more labels, short values) and all after
    it, when no prose follows it (references, a citation network, the site's links)."""
    blocks = list(body)
    for index in range(1, len(blocks)):
        lines = _plain_text(blocks[index]).split("\n")
        labels = sum(bool(_RECORD_LABEL.match(line)) for line in lines)
        if labels < 3 or any(len(line) > 60 for line in lines):
            continue
        if any(_PROSE_LINE.search(line) for block in blocks[index + 1:] for line in _plain_text(block).split("\n")):
            return
        start = index - 1 if index > 1 and _TOGGLE_LINE.match(_block_text(blocks[index - 1])) else index
        for block in blocks[start:]:
            body.remove(block)
        return


def _cut_fact_box(body) -> None:
    blocks = list(body)
    run = 0
    while run < len(blocks) - 1 and all(_FACT_BOX_LINE.match(line) for line in _plain_text(blocks[-1 - run]).split("\n")):
        run += 1
    heading = len(blocks) - 1 - run
    if run and heading > 0 and _FACT_BOX_HEADING.match(_block_text(blocks[heading])):
        for block in blocks[heading:]:
            body.remove(block)


# A news photo's caption that opens with what it shows rather than 图为 and ends with the
# photographer's credit, role and name (…工人正在查看设备运行数据。人民视窗网记者 李想摄, （新华社记者 张三 摄）).
_CREDITED_CAPTION = re.compile(
    r"^[^\n]{4,90}?[\s（(，,。]*[\u4e00-\u9fff]{0,12}(?:记者|通讯员|特约摄影|摄影记者|实习生)\s*[\u4e00-\u9fff·]{2,8}"
    r"(?:\s+[\u4e00-\u9fff·]{2,4})?\s*摄[）)]?$")


_FILED_BY = re.compile(r"^[\u4e00-\u9fff·]{2,6}(?:\s+[\u4e00-\u9fff·]{2,6}){0,3}\s*发自\s*[\u4e00-\u9fff]{2,8}$")


def _is_account_byline(block) -> bool:
    """The account's byline, alone or under its authors' line (乔言 发自 凹非寺 / 量子位 | 公众号 QbitAI)."""
    lines = _plain_text(block).split("\n")
    return bool(_ACCOUNT_BYLINE.match(lines[-1])) and all(
        _FILED_BY.match(line) or _CREDIT_LINE.match(line) for line in lines[:-1])


def _cut_notices(body, author: str = "") -> None:
    """Cuts an END marker and all after it, photo captions, data source notes, a platform's counter
    lines and a media account's byline wherever they are, then notices at either edge of the
    extracted text, contact blocks and a headed fact box at its end (also among a notice's closing
    attachment and signature lines), and the header's byline, player and summary lines and a
    sidebar's contact block before its start."""
    for block in list(body):
        if block.tag != "head" and len(body) > 1 and (_PHOTO_CAPTION.match(text := _block_text(block))
                                                      or _CREDITED_CAPTION.match(text)
                                                      or _DATA_SOURCE_NOTE.match(text)
                                                      or _PLATFORM_UI_LINE.match(text)
                                                      or _is_account_byline(block)):
            body.remove(block)
    blocks = list(body)
    for index, block in enumerate(blocks):
        if _END_MARKER.match(_block_text(block)) and index > 0:
            for later in blocks[index:]:
                body.remove(later)
            break
    while len(body) > 1 and (_is_notice(body[-1]) or _is_contact_block(body[-1]) or _is_topic_tags(body[-1])):
        body.remove(body[-1])
    _cut_fact_box(body)
    _cut_product_tiles(body)
    _cut_trailing_record(body)
    closing = []  # a notice's closing lines: contacts, attachments, the signature and its date
    for block in reversed(body[1:]):
        if not (_is_contact_block(block) or all(_ATTACHMENT_LINE.match(line) or _SIGNATURE_LINE.match(line)
                                                for line in _plain_text(block).split("\n"))):
            break
        closing.append(block)
    for block in closing:
        if _is_contact_block(block):
            body.remove(block)
    first = next((i for i, block in enumerate(body) if block.tag != "head"), None)  # past the title heading
    while first is not None and first < len(body) - 1 and (
            _is_notice(body[first]) or _is_header_line(body[first], author) or _is_contact_block(body[first])):
        body.remove(body[first])


def _is_header_line(block, author: str) -> bool:
    """True for a line the article's header shows above its text: the author's name alone, the source
    with its date-time, a line of metadata only (name, date, readers, category and tags), a labelled
    summary box, or a sidebar widget's line that lands above the text."""
    text = _block_text(block)
    return (text == " ".join(author.split()) or bool(_SOURCE_DATELINE.match(text))
            or bool(_WIDGET_LINE.match(text)) or bool(_MARKED_BYLINE.match(text))
            or (len(text) <= _MAX_SUMMARY_CHARS and bool(_SUMMARY_BOX.match(text)))
            or (len(text) <= 80 and bool(_HEADER_META_PART.search(text)) and bool(_HEADER_META_LINE.match(text))))


def _is_notice(block) -> bool:
    text = _block_text(block)
    if not text or (len(text) <= _MAX_NOTICE_CHARS and (
            _ENGLISH_COPYRIGHT_LINE.search(text) or _ENGLISH_STANDARDS_LINE.match(text)
            or _ENGLISH_CREDIT_LINE.match(text))):
        return True
    # credit lines keep their spaces: they split the names (本报记者 张三 李四)
    return (len(text) <= _MAX_NOTICE_CHARS and bool(_CJK.search(text))
            and bool(_EDGE_NOTICE.search(_NOTE_LABEL.sub("", _SPACED_CJK.sub("", text), count=1))
                     or _CREDIT_LINE.match(text)))


def _is_topic_tags(block) -> bool:
    """True for a block of topic tags only ("#广交会 #展会 #外贸"), as notes end with."""
    words = _block_text(block).split()
    return bool(words) and all(_TOPIC_TAG.match(word) for word in words)


def _is_contact_block(block) -> bool:
    """True for a block whose every line is a contact or organ line (or a credit), as closes an article."""
    lines = _plain_text(block).split("\n")
    return any(_CJK.search(line) for line in lines) and all(
        _CONTACT_LINE.match(line) or _CREDIT_LINE.match(line) for line in lines)


def _prepend_question(tree, title_element, body, main_text: str) -> None:
    """On a Q&A page, puts the question's own paragraphs before the extracted answer.

    The question is the nearest container around the title named for a question (class, id or
    data attribute, or a schema.org Question item) that does not also hold the answer; its
    paragraphs (or its itemprop="text"), outside comments and lists, are the question's body,
    which trafilatura leaves out when it takes the answer for the main text.
    """
    if title_element is None:
        return
    title = _block_text(title_element)
    answer_start = next(("".join(line.split())[:30] for line in main_text.split("\n") if line != title), "")
    container = None
    for ancestor in list(title_element.iterancestors())[:6]:
        if ancestor.tag in ("body", "html", "main"):
            break
        names = class_tokens(ancestor) | {a.lower() for a in ancestor.attrib if a.startswith("data-")}
        if names & _QUESTION_WORDS or any("question" in name for name in names) or (
                ancestor.get("itemscope") is not None and (ancestor.get("itemtype") or "").endswith("/Question")):
            container = ancestor
            break
    if container is None or not answer_start or answer_start in "".join("".join(container.itertext()).split()):
        return  # no question block, or one that holds the answer too (then it is the whole page)
    paragraphs = [p for p in container.iter("p") if title_element not in p.iterancestors()]
    if not paragraphs:
        paragraphs = container.xpath(".//*[@itemprop='text']")
    if not paragraphs:  # the question's text in a plain block ("<div class=q-content>"), not in a <p>
        paragraphs = [block for block in container.iter("div", "section", "pre", "blockquote")
                      if block is not title_element and title_element not in block.iterancestors()
                      and block not in title_element.iterancestors()
                      and not any(d.tag in _BLOCK_TAGS for d in block.iterdescendants()) and not _has_timestamp(block)]
    have = "".join(main_text.split())
    texts = []
    for paragraph in paragraphs:
        text = _block_text(paragraph)
        if len(text) >= 8 and "".join(text.split()) not in have and not in_foreign_container(paragraph) and \
                sum(_visible_chars(a) for a in paragraph.iter("a")) < 0.5 * _visible_chars(paragraph):
            texts.append(text)
    for position, text in enumerate(texts):
        paragraph = etree.Element("p")
        paragraph.text = text
        body.insert(position, paragraph)


# A lead's label, the label's whole text: 导语, 【导语】, 导语：. In Chinese journalism 导语 is the lead the
# article's author writes, its opening; unlike a labelled 摘要 box (_SUMMARY_BOX) it is the article's own.
_LEAD_LABEL = re.compile(r"^[【\[]?\s*导语\s*[】\]]?\s*[：:]?$")


def _prepend_lead(tree, body, main_text: str) -> None:
    """Puts the article's lead, shown under a 导语 label just before the main text, at the text's start.

    Templates put the lead in a block of its own above the body's container (<div class=summary><div
    class=label>导语</div><p>…</p></div>), which trafilatura leaves out. The lead is the text after the
    label in the label's block, when it is not in the main text already and comes before its start.
    """
    have = _squeezed(main_text)
    start = _squeezed(main_text.split("\n")[0])[:30]
    page_body = tree.find("body")
    if page_body is None or not start:
        return
    for label in page_body.iter():
        if not isinstance(label.tag, str) or label.tag in ("script", "style") or len(label) \
                or not _LEAD_LABEL.match(_block_text(label)):
            continue
        parts = [(label.tail or "")] + ["".join(later.itertext()) + (later.tail or "") for later in label.itersiblings()]
        lead = " ".join("".join(parts).split())
        if len(lead) < 10 or len(lead) > _MAX_SUMMARY_CHARS or _squeezed(lead) in have:
            return
        # before the main text: the main text's first line is not yet shown up to the label
        shown = []
        for element in page_body.iter():
            if element is label:
                break
            if isinstance(element.tag, str) and element.tag not in ("script", "style"):
                shown.append((element.text or "") + (element.tail or ""))
        if start in _squeezed("".join(shown)):
            return
        paragraph = etree.Element("p")
        paragraph.text = lead
        position = next((i for i, block in enumerate(body) if block.tag != "head"), len(body))
        body.insert(position, paragraph)
        return


# Step 3: plain text ---------------------------------------------------------------------------------

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
        block_code = element.tag == "code" and (
            element.getparent() is None or element.getparent().tag not in _INLINE_CONTEXT
            or "\n" in "".join(element.itertext()))
        if block_code:
            flush()
            lines.extend(line.rstrip() for line in "".join(element.itertext()).strip("\n").splitlines() if line.strip())
        else:
            # Inline code ("打印一行 <code># GPU blocks</code>，乘以…") stays inside its sentence's line.
            starts_line = element.tag in _LINE_ELEMENTS and element.tag != "code"
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


# Step 4: links ----------------------------------------------------------------------------------------


# A topic tag ("#广交会", "#外贸干货#", "#AI"): note and microblog sites link every one to a search,
# many to a short note; they label the note, they are not teasers for other pages.
_TOPIC_TAG = re.compile(r"^#[^#\s]{1,30}#?$")


def _main_text_links(cleaned, url: str, lines: list[str]) -> tuple[int, int, int]:
    """Returns (links, link characters, characters) of the balanced-mode tree's blocks within the main text.

    The blocks counted run from the one holding the main text's first line to the one holding its
    last, so that a related list after the article does not make an article look like a listing,
    while the teaser headlines between a listing's summaries (which precision mode drops) count.
    """
    document = trafilatura.bare_extraction(cleaned, url=url, **LINK_OPTIONS)
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
                        n := _visible_chars(element)) and not _TOPIC_TAG.match(_block_text(element)):
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


# Step 5: the title --------------------------------------------------------------------------------

# What sites put between an article's title and their own name in <title>. Chinese CMS templates
# often join title, column and site with a bare hyphen ("标题-协会动态-某某协会"); a bare hyphen
# counts only after a Chinese character, not inside "COVID-19" or "2024-2025". Either way the title
# is cut there only when a heading or the page's text shows the part before (or after) it alone.
_BARE_HYPHEN = r"(?<=[\u3400-\u9fff])-(?=[^\s\-])"
_TITLE_SEPARATOR = re.compile(rf"\s+[-|–—·:：]\s+|\s*(?:\||｜|_|--|——|—|–)\s*|{_BARE_HYPHEN}")
# … and before a title that follows the site's name: "Site | Title", "小店三年: 开店第三年…" (Blogger's "Blog: Post").
_TITLE_SEPARATOR_AT_END = re.compile(r"(?:\s+[-|–—·:：]\s+|\s*(?:\||｜|_|--|——|—|–)\s*|(?<=[\u3400-\u9fff])-|(?<=\S)[:：]\s+)$")
_TITLE_CLASS = re.compile(r"title|headline|heading", re.I)
# A forum's thread-type prefix in square brackets ("[经验分享] ", "[求助]"), not part of the title;
# a news headline's 【】 tag is the editor's and stays.
_BOARD_PREFIX = re.compile(r"^\[[^\[\]]{1,8}\]\s*(?=\S.{3,})")


# The date line an old CMS template puts inside the <h1> after a <br>, labelled or not:
# 2025-04-11 09:30 来源：…, 发布时间：2025年6月2日 作者：…
_HEADING_DATE_LINE = re.compile(
    r"^\s*(?:[\u4e00-\u9fff]{2,6}\s*[：:]\s*)?\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _heading_text(element) -> str:
    """The heading's text, less a date line after its first <br>: old CMS templates put the date,
    来源, 评论 and 点击 on a second line inside the <h1> (<h1>标题<br /><span>2025-04-11 来源：…</span></h1>).
    A title written on two lines (<h1>主标题<br />副标题</h1>) stays whole."""
    whole = _block_text(element)
    parts = [element.text or ""]
    for index, child in enumerate(element):
        if child.tag == "br":
            rest = (child.tail or "") + "".join("".join(later.itertext()) + (later.tail or "")
                                                for later in element[index + 1:])
            head = " ".join("".join(parts).split())
            return head if head and _HEADING_DATE_LINE.match(rest) else whole
        parts += ["".join(child.itertext()), child.tail or ""]
    return whole


def _article_title(tree, metadata_title: str | None, lines: list[str] = ()):
    """Returns the article's title and the element showing it (its <h1>, for crawlers.dates).

    trafilatura's title, less the site's name: "冷链审计笔记 - 老冷的冷链手记" becomes "冷链审计笔记"
    when an <h1> (or an element with a title class) of the page reads exactly that. On a page whose
    <title> is only the site's or the account's name, shown above the article's heading, the heading
    is the title (_heading_above_text).
    """
    headings = [(_heading_text(element), element) for element in tree.iter("h1")]
    for element in tree.xpath("//body//*[self::h2 or self::h3 or self::td or self::div or self::span or self::p"
                              " or contains(name(), '-')][@class]"):
        if _TITLE_CLASS.search(element.get("class") or "") and len(element) <= 3:
            headings.append((_block_text(element), element))
    headings = [(_BOARD_PREFIX.sub("", text), element) for text, element in headings if text]
    headings = [(text, element) for text, element in headings if text]
    title = _BOARD_PREFIX.sub("", " ".join((metadata_title or "").split()))
    if not title:
        return headings[0] if headings else ("", None)
    post = _post_heading_under_site_name(tree, title)
    if post is not None:
        return post
    if not any(element.tag == "h1" and text == title for text, element in headings):
        above = _heading_above_text(tree, title, headings, lines) or _heading_under_linked_title(tree, title, lines)
        if above is not None:
            return above
    for text, element in headings:
        if text == title:
            return title, element
        # the metadata read the <h1>'s date line too, with or without a space at the <br>
        if element.tag == "h1" and text != _block_text(element) and _squeezed(_block_text(element)) == _squeezed(title):
            return text, element
    for text, element in sorted(headings, key=lambda heading: -len(heading[0])):  # the longest that fits
        if len(text) < len(title) and (
                (title.startswith(text) and _TITLE_SEPARATOR.match(title, len(text)))  # "Title - Site"
                or (title.endswith(text) and _TITLE_SEPARATOR_AT_END.search(title[:-len(text)]))):  # "Site | Title"
            return text, element
    spaced = _heading_before_spaced_site_name(tree, title)
    if spaced is not None:
        return spaced
    shown = _title_shown_in_text(tree, title)
    if shown:
        return shown, None
    return title, next((element for text, element in headings if element.tag == "h1" and text in title), None)


def _post_heading_under_site_name(tree, title: str) -> tuple | None:
    """Returns the post's <h2> or <h3> when the page's <h1> is the site's name, else None.

    An old blog template (新浪博客's, many a WordPress theme's) puts the blog's name in the <h1> of
    every page and the post's title in an <h2>. The <h1> counts as the site's name when og:site_name
    reads it, or when <title> shows it after another part ("文章_博客名_平台"); the post's title is then
    the heading that reads <title>'s part before it (or its start up to a separator), or with
    og:site_name alone, a heading whose text <title> begins with.
    """
    if not any(_heading_text(element) == title for element in tree.iter("h1")):
        return None
    site_names = {" ".join(value.split()) for value in tree.xpath("//head/meta[@property='og:site_name']/@content")}
    page_title = " ".join((tree.findtext(".//head/title") or "").split())
    shown_after = next((m for m in _TITLE_SEPARATOR.finditer(page_title)
                        if page_title[m.end():].startswith(title) and m.start() > 0), None)
    if title not in site_names and shown_after is None:
        return None
    lead = page_title[:shown_after.start()] if shown_after is not None else page_title
    for element in tree.iter("h2", "h3"):
        text = _block_text(element)
        if len(text) >= _MIN_SHOWN_TITLE_CHARS and text != title and (
                text == lead or (lead.startswith(text) and _TITLE_SEPARATOR.match(lead, len(text)))):
            return text, element
    return None


def _elements_through_text_start(tree, lines, *, skip=frozenset()) -> list | None:
    """The body's elements in document order (scripts and styles left out) up to and including the
    one whose own text begins the main text (its first line of 10 characters or more, not in
    `skip`); None when no element does."""
    body = tree.find("body")
    start = next(("".join(line.split())[:15] for line in lines if len(line) >= 10 and line not in skip), "")
    if body is None or not start:
        return None
    shown = []
    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style"):
            continue
        shown.append(element)
        if _squeezed(" ".join((element.text or "").split())).startswith(start):
            return shown
    return None


def _heading_above_text(tree, title: str, headings: list, lines) -> tuple | None:
    """Returns the heading just above the main text when the page's <title> is a name shown above it.

    A 小程序's or an app's H5 page keeps the account's or the app's name in <title> ("恒澄包装") and
    in its top bar, and shows the article's title in a title-class block of its own above the text.
    The heading counts when it is the last title-class element (not a subtitle) before the element
    where the main text begins, says more than <title>, and <title> is shown whole before it or is
    the name the site's copyright line gives (a platform that reprints: <title>强学平台</title>).
    """
    texts = {text for text, _ in headings}
    shown = _elements_through_text_start(tree, lines, skip=texts)
    if shown is None:
        return None
    by_element = {element: text for text, element in headings}
    last, title_shown_at, title_shown_before_last = None, None, False
    for element in shown:
        if element in by_element and not re.search(r"sub", element.get("class") or "", re.I):
            last = element
            title_shown_before_last = title_shown_at is not None
        if " ".join((element.text or "").split()) == title and next(element.iterancestors("a"), None) is None:
            title_shown_at = element
    if last is None or next(last.iterancestors("a"), None) is not None:
        return None
    if not title_shown_before_last and not _site_name_in_footer(tree, title):
        return None
    text = by_element[last]
    return (text, last) if len(text) > len(title) and title not in text else None


_COPYRIGHT_MARK = re.compile(r"版权所有|©|copyright|ICP备|ICP证", re.I)


def _site_name_in_footer(tree, title: str) -> bool:
    """True when <title> is the site's name as its copyright line gives it (强学平台 版权所有 京ICP备…)."""
    for element in tree.iter("p", "div", "span", "footer", "li"):
        own = " ".join("".join(element.itertext()).split())
        if len(own) <= 200 and title in own and _COPYRIGHT_MARK.search(own):
            return True
    return False


def _heading_before_spaced_site_name(tree, title: str) -> tuple | None:
    """Returns the <h2>/<h3> heading whose text is <title> up to a space and the site's name.

    Forum templates title a thread "主题 论坛名" with a bare space and show the subject in a heading
    (NGA-style `<h3 id="postsubject0">`). The heading counts when <title> is its text, white space,
    and a short name (at most 20 characters, no sentence punctuation).
    """
    for element in tree.xpath("//body//*[self::h2 or self::h3]"):
        text = _BOARD_PREFIX.sub("", _block_text(element))
        rest = title[len(text):]
        if len(text) >= _MIN_SHOWN_TITLE_CHARS and title.startswith(text) and rest[:1].isspace() \
                and 0 < len(rest.strip()) <= 20 and not re.search(r"[，。！？,.!?：:]", rest):
            return text, element
    return None


def _heading_under_linked_title(tree, title: str, lines) -> tuple | None:
    """Returns the heading just above the main text when <title> names only a column the page links to.

    An institution's CMS titles every page of a column by the column and the site ("本所新闻 | 某某证券
    交易所"), shows the column in its navigation and breadcrumb as links, and the article's headline as
    an <h2> or <h3> above the text, with no <h1> on the page. The heading counts when it is the last
    <h2>/<h3> before the element where the main text begins, says more than the column's name and is
    not a link, and the column's name is the text of a link on the page.
    """
    body = tree.find("body")
    if body is None or body.find(".//h1") is not None:
        return None
    links = {" ".join("".join(a.itertext()).split()) for a in body.iter("a")}
    column = next((text for text in links if text and (text == title or (
        title.startswith(text) and _TITLE_SEPARATOR.match(title, len(text))))), None)
    shown = _elements_through_text_start(tree, lines) if column is not None else None
    if shown is None:
        return None
    last = None
    for element in shown:
        if element.tag in ("h2", "h3") and next(element.iterancestors("a"), None) is None \
                and not element.xpath(".//a") and not re.search(r"sub", element.get("class") or "", re.I):
            last = element
    if last is None:
        return None
    text = _block_text(last)
    return (text, last) if len(text) > len(column) and column not in text else None


_MIN_SHOWN_TITLE_CHARS = 5
# A label before a title in the same text: "主题：", "帖子主题:", "标题 ："
_TITLE_LABEL = re.compile(r"^[^\s：:]{1,6}\s*[：:]\s*")


def _title_shown_in_text(tree, title: str) -> str:
    """Returns the longest start of the page title, up to a separator, that the body shows as a text of
    its own outside links, or after a short label ("帖子主题：叉车改造记录" in an old forum's table
    cell), or "".

    Pages with no heading element ("叉车改造记录 - 仓储设备 - 某某论坛 - Powered By Dvbbs") still show
    the thread's title as a label's value; a site name in <title> is a link (the logo, the
    breadcrumb) or is not shown alone.
    """
    body = tree.find("body")
    if body is None:
        return ""
    shown = set()

    def show(text: str) -> None:
        text = " ".join(text.split())
        shown.add(text)
        shown.add(_TITLE_LABEL.sub("", text))  # "帖子主题：叉车改造记录"

    def in_link(element) -> bool:
        return element.tag == "a" or next(element.iterancestors("a"), None) is not None

    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style"):
            continue
        if element.text and not in_link(element):
            show(element.text)
        parent = element.getparent()
        if element.tail and parent is not None and not in_link(parent):
            show(element.tail)
    starts = [title[:m.start()] for m in _TITLE_SEPARATOR.finditer(title) if m.start() >= _MIN_SHOWN_TITLE_CHARS]
    return next((start for start in reversed(starts) if start in shown), "")


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
