"""An article's publication date, read from the page's own machine-readable markup and nothing else.

In order, the first that gives a date wins:
  1. JSON-LD: the article object's `datePublished` (then `dateCreated`); on a Q&A page the accepted
     answer's date, else the question's; Baidu's cambrian JSON-LD `pubDate`;
  2. `<meta>` tags that name a publication date (`article:published_time`, `og:release_date`,
     `publishdate`, `pubdate`, Dublin Core `dc.date.issued`, …);
  3. microdata `itemprop="datePublished"` (then an accepted answer's or the question's
     `dateCreated`), outside comments, other answers and related lists;
  4. a `<time>` in the article's header: after the title's `<h1>`, before the end of the main text,
     inside a `<header>` element or before the main text starts, and not a modification date (by
     its or its parent's class, unless the label right before it says "Date:" or 发布时间).

Never from comments, sidebars or related lists (their containers are skipped), never from visible
text that is not marked up as a date, never a modification date. No date is better than a wrong one.
The date is the calendar day the markup writes, in the markup's own time zone.
"""
import datetime as dt
import json
import re
from bisect import bisect_right

from lxml import etree

# A date as markup writes it: ISO 8601 and the usual variants (2024/05/08, 2024.05.08, 2024年5月8日).
_DATE = re.compile(r"^\s*(\d{4})(?:-|/|\.|年)\s*(\d{1,2})(?:-|/|\.|月)\s*(\d{1,2})(?:日|(?![\d]))")
_COMPACT_DATE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:T|\s|$)")
# English month names, as some JSON-LD and <time> texts write them: "19 Nov 2019", "Feb 16, 2018".
_MONTHS = {m: n for n, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\s+{_MONTH},?\s+(\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)

# <meta name|property|itemprop> values that name the publication date (compared lower-cased, with
# "-", "_", ":", "." and spaces removed), in order of trust. `firstpublishedtime` is what Chinese
# government sites' CMS writes (beside `lastmodifiedtime`, a modification date, never read), in the
# form 2025-06-20-16:05:31. `og:time` (last in trust) is the publication time portals such as
# 凤凰网 write, sometimes with a trailing space in the name ("og:time "): names are trimmed.
_META_NAMES = tuple(
    re.sub(r"[-_:. ]", "", name) for name in (
        "article:published_time", "og:article:published_time", "og:published_time", "og:release_date",
        "bytedance:published_time", "weibo:article:create_at", "datePublished", "date_published",
        "publishdate", "publish_date", "pubdate", "pubtime", "publication_date", "publish_time",
        "published_time", "firstpublishedtime", "article.published", "article_date_original",
        "original-publish-date", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
        "dc.date.created", "dcterms.created", "citation_publication_date", "dc.date", "dcterms.date",
        "og:time",
    )
)
_META_RANK = {name: rank for rank, name in enumerate(_META_NAMES)}

# schema.org types whose date is the article's own (JSON-LD @type, microdata itemtype).
# The page's own work: articles and posts, and the works other kinds of page are made of (a thesis's
# abstract page, a podcast episode's show notes, a how-to).
_ARTICLE_TYPE = re.compile(r"(Article|Posting|Report|CreativeWork|WebPage|ItemPage|Blog|ClaimReview|Thesis|Episode|HowTo"
                           r"|Recipe)$")
_QUESTION_TYPE = re.compile(r"(Question|QAPage|FAQPage)$")
# Items whose dates belong to something else than the article.
_FOREIGN_ITEM = re.compile(r"(Comment|Review|ItemList|ListItem|Person|Organization|Event|Offer|Product)$")
_FOREIGN_PROP = frozenset({"suggestedAnswer", "comment", "review", "itemListElement", "relatedLink", "hasPart"})

# Containers whose dates are not the article's: comments, other answers, related and recommended
# lists, sidebars. Matched against class and id tokens (split on "-", "_" and camelCase).
_FOREIGN_TOKENS = frozenset({
    "comment", "comments", "reply", "replies", "respond", "discuss", "discussion", "pinglun", "liuyan",
    "related", "relate", "recommend", "recommends", "recommended", "recommendation", "sidebar", "side",
    "aside", "widget", "hot", "rank", "ranking", "popular", "feed", "guess", "more", "suggested",
    "footer", "nav", "menu", "answer-list", "answers",
})
_FOREIGN_TAGS = frozenset({"aside", "footer", "nav"})
_MODIFIED = re.compile(r"updat|modif|edited|last-?edit", re.I)
# The label a header shows right before its <time> ("Date:", "发布时间："): it names what the date is,
# whatever the template's class calls the element (a CMS's span.arti_update labelled "Date:").
_PUBLISHED_LABEL = re.compile(r"(?:^|[^\w])(?:date|published(?: on)?|posted(?: on)?|发布(?:时间|日期|于)|发表(?:时间|于)|日期)"
                              r"\s*[：:]?\s*$", re.I)
_MODIFIED_LABEL = re.compile(r"updated|modified|edited|更新|修改", re.I)
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_TOKEN_SPLIT = re.compile(r"[\s\-_]+|(?<=[a-z])(?=[A-Z])")


def publication_date(tree, *, url: str = "", title_element=None, body_start: str = "", body_end: str = ""
                     ) -> dt.date | None:
    """Returns the article's publication date from the page's markup, or None when it carries none.

    `title_element` is the article's title in `tree` (its <h1>); `body_start` and `body_end` are
    the first and last line of the extracted main text, which bound where the article's header is.
    """
    return (_json_ld_date(tree, url) or _meta_date(tree) or _microdata_date(tree)
            or _header_time_date(tree, title_element, body_start, body_end))


def parse_date(value: str | None) -> dt.date | None:
    """Returns the calendar date a markup value writes (its own time zone), or None for anything else."""
    if not value or not isinstance(value, str):
        return None
    if match := _DATE.match(value) or _COMPACT_DATE.match(value):
        year, month, day_of_month = (int(part) for part in match.groups())
    elif match := _DAY_MONTH_YEAR.search(value):
        day_of_month, month, year = int(match[1]), _MONTHS[match[2].lower()], int(match[3])
    elif match := _MONTH_DAY_YEAR.search(value):
        month, day_of_month, year = _MONTHS[match[1].lower()], int(match[2]), int(match[3])
    else:
        return None
    try:
        day = dt.date(year, month, day_of_month)
    except ValueError:
        return None
    # A date before the web, or after tomorrow (any time zone's today), is not a publication date.
    if day.year < 1990 or day > dt.date.today() + dt.timedelta(days=1):
        return None
    return day


def class_tokens(element) -> set[str]:
    """Returns the lower-cased words of the element's class and id ("post_tie-list" → post, tie, list)."""
    words = set()
    for value in (element.get("class"), element.get("id")):
        if value:
            words.update(word.lower() for word in _TOKEN_SPLIT.split(value) if word)
    return words


def in_foreign_container(element) -> bool:
    """True inside comments, other answers, related or recommended lists, sidebars, footers, navigation."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("body", "html"):
            return False
        if ancestor.tag in _FOREIGN_TAGS or ancestor.get("role") in ("complementary", "contentinfo", "navigation"):
            return True
        if class_tokens(ancestor) & _FOREIGN_TOKENS:
            return True
    return False


# JSON-LD ---------------------------------------------------------------------------------------


def _json_ld_objects(tree) -> list[dict]:
    """Returns the page's top-level JSON-LD objects (arrays and @graph unrolled), never nested ones."""
    objects = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        for data in _json_values(script.text):
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict):
                    graph = item.get("@graph")
                    objects.extend(o for o in (graph if isinstance(graph, list) else [item]) if isinstance(o, dict))
    return objects


def _json_values(text: str) -> list:
    """Returns the JSON values in a script, forgiving what sites often get wrong.

    Trailing commas are dropped and several values one after the other are all read; anything
    still unreadable is left out rather than guessed at.
    """
    try:
        return [json.loads(text, strict=False)]
    except RecursionError:  # arrays or objects nested thousands deep: no site means that
        return []
    except ValueError:
        pass
    text = _TRAILING_COMMA.sub(r"\1", text)
    decoder, values, position = json.JSONDecoder(strict=False), [], 0
    while True:
        while position < len(text) and (text[position].isspace() or text[position] in ",;"):
            position += 1
        if position >= len(text):
            return values
        try:
            value, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            return values
        values.append(value)


def _types(item: dict) -> list[str]:
    value = item.get("@type") or []
    return [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)]


def _json_ld_date(tree, url: str) -> dt.date | None:
    articles, questions, cambrian = [], [], []
    for item in _json_ld_objects(tree):
        types = _types(item)
        if any(_QUESTION_TYPE.search(t) for t in types):
            questions.append(item)
        elif any(_ARTICLE_TYPE.search(t) for t in types):
            articles.append(item)
        elif "pubDate" in item:  # Baidu's cambrian JSON-LD: no @type, the page's own pubDate
            cambrian.append(item)
    # Several articles on one page: the one that is this page, else the first (a page's own comes first).
    articles.sort(key=lambda item: not _is_this_page(item, url))
    articles.sort(key=lambda item: any(t.endswith("WebPage") or t == "ItemPage" for t in _types(item)))
    for item in articles:
        day = parse_date(item.get("datePublished")) or parse_date(item.get("dateCreated"))
        if day:
            return day
    for item in questions:
        day = _question_date(item)
        if day:
            return day
    for item in cambrian:
        day = parse_date(item.get("pubDate"))
        if day:
            return day
    return None


def _is_this_page(item: dict, url: str) -> bool:
    if not url:
        return False
    ids = [item.get("url"), item.get("@id"), item.get("mainEntityOfPage")]
    ids = [i.get("@id") if isinstance(i, dict) else i for i in ids]
    return any(isinstance(i, str) and i.split("#")[0].rstrip("/") == url.split("#")[0].rstrip("/") for i in ids)


def _question_date(item: dict) -> dt.date | None:
    """A Q&A page: the accepted answer's date, else the question's (QAPage wraps it in mainEntity)."""
    question = item.get("mainEntity") if isinstance(item.get("mainEntity"), dict) else item
    answer = question.get("acceptedAnswer")
    answer = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(answer, dict):
        day = parse_date(answer.get("datePublished")) or parse_date(answer.get("dateCreated"))
        if day:
            return day
    return parse_date(question.get("datePublished")) or parse_date(question.get("dateCreated"))


# <meta> ---------------------------------------------------------------------------------------------


def _meta_date(tree) -> dt.date | None:
    found = []
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or ""
        rank = _META_RANK.get(re.sub(r"[-_:. ]", "", key.lower()))
        if rank is not None and not meta.get("itemprop") and (day := parse_date(meta.get("content"))):
            found.append((rank, day))
    return min(found)[1] if found else None


# microdata ---------------------------------------------------------------------------------------


def _item_scopes(element):
    """Yields (itemtype, itemprop) of each item the element sits in, innermost first."""
    for ancestor in element.iterancestors():
        if ancestor.get("itemscope") is not None:
            yield ancestor.get("itemtype") or "", set((ancestor.get("itemprop") or "").split())


def _microdata_date(tree) -> dt.date | None:
    best = None  # (rank, document order, date)
    for order, element in enumerate(tree.iter(etree.Element)):
        props = set((element.get("itemprop") or "").split())
        if not props & {"datePublished", "dateCreated"}:
            continue
        scopes = list(_item_scopes(element))
        if any(_FOREIGN_ITEM.search(itemtype) or prop & _FOREIGN_PROP for itemtype, prop in scopes):
            continue
        itemtype, scope_prop = scopes[0] if scopes else ("", set())
        # The article item's own datePublished counts wherever the template puts it (Blogger's
        # post-footer holds the post's); any other date is judged by its container (a comment's
        # dateCreated inside the article's item is a comment's).
        own_article = ("datePublished" in props and bool(_ARTICLE_TYPE.search(itemtype))
                       and not any(_ARTICLE_TYPE.search(t) for t, _ in scopes[1:]))
        if not own_article and in_foreign_container(element):
            continue
        if "datePublished" in props and (not itemtype or _ARTICLE_TYPE.search(itemtype)):
            rank = 0
        elif "acceptedAnswer" in scope_prop:
            rank = 1
        elif _QUESTION_TYPE.search(itemtype) or not itemtype or _ARTICLE_TYPE.search(itemtype):
            rank = 2
        else:
            continue
        # An <abbr> carries the machine-readable value in its title (hAtom, Blogger:
        # <abbr itemprop="datePublished" title="2025-04-12T21:05:00+08:00">21:05</abbr>).
        machine = (element.get("content") or element.get("datetime")
                   or (element.get("title") if element.tag == "abbr" else None))
        day = parse_date(machine or _own_date_text(element))
        if day and (best is None or (rank, order) < best[:2]):
            best = (rank, order, day)
    return best[2] if best else None


def _own_date_text(element) -> str:
    time = element if element.tag == "time" else next(element.iter("time"), None)
    if time is not None:
        return time.get("datetime") or (time.text or "")
    return element.text or ""


# <time> in the article's header ------------------------------------------------------------------


def _header_time_date(tree, title_element, body_start: str, body_end: str) -> dt.date | None:
    if title_element is None or not body_end:
        return None
    order = {element: index for index, element in enumerate(tree.iter())}
    title_at = order.get(title_element)
    if title_at is None:
        return None
    starts, end_at = _text_positions(tree, order, body_start, body_end)
    if end_at is None:
        return None
    # The article's <header> may put its byline and <time> above the title (dev.to, many themes).
    title_header = next((a for a in title_element.iterancestors() if a.tag == "header"), None)
    for time in tree.iter("time"):
        at = order[time]
        if not title_at < at < end_at and not (
                title_header is not None and at < end_at and any(a is title_header for a in time.iterancestors())):
            continue
        named = [time, time.getparent()]  # <time class="updated">, <span class="modified-date"><time>
        if any(_MODIFIED.search(" ".join(filter(None, (e.get("class"), e.get("itemprop"), e.get("id")))))
               for e in named if e is not None) and not _labelled_published(time):
            continue
        if in_foreign_container(time):
            continue
        in_header = any(a.tag == "header" for a in time.iterancestors())
        if not in_header and (starts is None or at > starts):
            continue
        return parse_date(time.get("datetime") or time.text_content())
    return None


def _labelled_published(time) -> bool:
    """True when the text right before the <time> in its parent labels it a publication date."""
    parent = time.getparent()
    if parent is None:
        return False
    label = parent.text or ""
    for child in parent:
        if child is time:
            break
        label += (child.text_content() if isinstance(child.tag, str) else "") + (child.tail or "")
    label = " ".join(label.split())[-24:]
    return bool(_PUBLISHED_LABEL.search(label)) and not _MODIFIED_LABEL.search(label)


def _text_positions(tree, order: dict, body_start: str, body_end: str) -> tuple[int | None, int | None]:
    """Returns the document-order index of the elements where the main text starts and ends.

    The page's text is read once, white space removed, recording which element each piece belongs
    to; the first and last lines of the main text are then found in it.
    """
    pieces, offsets, owners = [], [], []
    length = 0

    def add(text: str | None, owner: int) -> None:
        nonlocal length
        if text and not text.isspace():
            squeezed = "".join(text.split())
            offsets.append(length)
            owners.append(owner)
            pieces.append(squeezed)
            length += len(squeezed)

    started = -1  # document-order index of the last element entered
    for event, element in etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            started = order.get(element, started)
            if element.tag not in ("script", "style") and isinstance(element.tag, str):
                add(element.text, started)
        else:
            add(element.tail, started)  # a tail comes after the element's last descendant
    stream = "".join(pieces)

    def owner_at(position: int) -> int:
        return owners[bisect_right(offsets, position) - 1]

    start_snippet = "".join(body_start.split())[:20]
    end_snippet = "".join(body_end.split())[-20:]
    start = stream.find(start_snippet) if start_snippet else -1
    end = stream.rfind(end_snippet) if end_snippet else -1
    return (owner_at(start) if start >= 0 else None), (owner_at(end) if end >= 0 else None)
