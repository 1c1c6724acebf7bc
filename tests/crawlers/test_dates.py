"""Publication dates come from the article's own markup (crawlers.dates), never from comments,
related lists or visible text, and never a modification date."""
import datetime as dt

import pytest
from lxml import html as lxml_html

from crawlers.dates import parse_date, publication_date

TITLE = "冷库温控复盘"
BODY_START = "上个月我跟着客户的质量部去做了一次供应商审计。"
BODY_END = "回头看，真正起作用的只是把原始数据完整地拉出来。"


def _date(head: str = "", before_body: str = "", after_body: str = "", header: str = "") -> dt.date | None:
    page = f"""<html><head><title>{TITLE} - 老冷的手记</title>{head}</head><body>
    <div class="site-top">今天是 <time datetime="2026-12-01">2026年12月1日</time></div>
    <article><header><h1>{TITLE}</h1>{header}</header>{before_body}
    <p>{BODY_START}</p><p>中间的一段话，讲了温度记录和探头位置。</p><p>{BODY_END}</p></article>
    {after_body}</body></html>"""
    tree = lxml_html.fromstring(page)
    return publication_date(tree, url="https://blog.example/p/1", title_element=tree.find(".//h1"),
                            body_start=BODY_START, body_end=BODY_END)


COMMENT = """<section class="comments"><div class="comment"><time datetime="2025-04-09T10:03:58+08:00">4月9日</time>
<p>写得好</p></div></section>"""


def test_json_ld_date_published_wins_over_a_comment_time():
    head = """<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "老冷的手记"},
        {"@type": "Article", "headline": "冷库温控复盘", "datePublished": "2025-03-14T01:20:11+00:00",
         "dateModified": "2025-04-02T07:45:30+00:00"}]}</script>"""
    assert _date(head=head, after_body=COMMENT) == dt.date(2025, 3, 14)


def test_json_ld_that_sites_get_wrong_is_still_read():
    """A trailing comma, and two objects in one script, as real pages have them."""
    head = """<script type="application/ld+json">{"@type": "Organization", "name": "x"}
    {"@type": "NewsArticle", "keywords": ["a", "b", ], "datePublished": "2019-11-18T16:06:51-05:00",}</script>"""
    assert _date(head=head) == dt.date(2019, 11, 18)


def test_json_ld_nested_objects_are_not_the_article():
    head = """<script type="application/ld+json">{"@type": "WebPage", "hasPart": {"@type": "NewsArticle",
        "datePublished": "2020-01-01"}, "mainEntity": {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": {"@type": "Article", "datePublished": "2021-02-02"}}]}}</script>"""
    assert _date(head=head) is None


def test_qa_page_takes_the_accepted_answer_date_then_the_question_date():
    answered = """<script type="application/ld+json">{"@type": "QAPage", "mainEntity": {"@type": "Question",
        "dateCreated": "2025-02-10T03:41:17Z", "acceptedAnswer": {"@type": "Answer", "dateCreated": "2025-02-17T06:12:33Z"},
        "suggestedAnswer": [{"@type": "Answer", "dateCreated": "2025-02-12"}]}}</script>"""
    unanswered = """<script type="application/ld+json">{"@type": "Question", "dateCreated": "2025-02-10",
        "suggestedAnswer": [{"@type": "Answer", "dateCreated": "2025-02-12"}]}</script>"""
    assert _date(head=answered) == dt.date(2025, 2, 17)
    assert _date(head=unanswered) == dt.date(2025, 2, 10)


def test_baidu_cambrian_json_ld_pub_date():
    head = """<script type="application/ld+json">{"@context": "https://ziyuan.baidu.com/contexts/cambrian.jsonld",
        "pubDate": "2025-06-12T10:23:45", "upDate": "2025-07-03T19:02:11"}</script>"""
    assert _date(head=head) == dt.date(2025, 6, 12)


@pytest.mark.parametrize("meta, expected", [
    ('<meta property="article:published_time" content="2024-09-18T07:10:24+08:00">', dt.date(2024, 9, 18)),
    ('<meta property="og:release_date" content="2025-01-14T17:42:08+08:00">', dt.date(2025, 1, 14)),
    ('<meta property="bytedance:published_time" content="2024-09-03T08:00:12+08:00">', dt.date(2024, 9, 3)),
    ('<meta name="publishdate" content="2024-11-12">', dt.date(2024, 11, 12)),
    ('<meta name="pubdate" content="2025-02-26 09:00:00">', dt.date(2025, 2, 26)),
    ('<meta name="DC.date.issued" content="2023/05/09">', dt.date(2023, 5, 9)),
    # Chinese government sites' CMS, with its odd dash before the time; its lastmodifiedtime is not read
    ('<meta name="firstpublishedtime" content="2025-06-20-16:05:31">', dt.date(2025, 6, 20)),
    ('<meta name="lastmodifiedtime" content="2025-06-23-09:12:07">', None),
    ('<meta name="PubDate" content="2025/06/20 16:05">', dt.date(2025, 6, 20)),
    ('<meta name="publishdate" content="2025年6月20日">', dt.date(2025, 6, 20)),
    ('<meta name="pubdate" content="2025-06-20T16:05:31+0800">', dt.date(2025, 6, 20)),
    ('<meta name="pubdate" content="2025-06-20 16:05:31 CST">', dt.date(2025, 6, 20)),
    # forms that are not recognised give no date, never a guess
    ('<meta name="firstpublishedtime" content="06/07/2025 16:05">', None),  # June 7 or July 6?
    ('<meta name="pubdate" content="20-06-2025">', None),
    ('<meta name="pubdate" content="2025-6-2016:05">', None),  # 2016:05 or 20 16:05?
    ('<meta property="article:modified_time" content="2025-04-02T07:45:30+00:00">', None),
    ('<meta property="og:updated_time" content="2025-04-02">', None),
    ('<meta name="date" content="2025-04-02">', None),  # which date? often the day the page was generated
    # a portal's og:time (凤凰网 writes it), its name compared trimmed: "og:time " with a trailing space
    ('<meta property="og:time " content="2025-05-20 08:12:33">', dt.date(2025, 5, 20)),
    ('<meta name="og:time" content="2025-05-20T08:12:33+08:00">', dt.date(2025, 5, 20)),
    ('<meta property="og:updated_time " content="2025-05-21">', None),
])
def test_meta_tags_that_name_the_publication_date(meta, expected):
    assert _date(head=meta) == expected


def test_the_most_trusted_meta_wins_whatever_the_order():
    head = ('<meta name="dc.date" content="2020-01-01">'
            '<meta property="article:published_time" content="2024-09-18T07:10:24+08:00">')
    assert _date(head=head) == dt.date(2024, 9, 18)


def test_og_time_is_trusted_least():
    head = ('<meta property="og:time" content="2025-05-21 10:00:00">'
            '<meta name="pubdate" content="2025-05-20 08:12:33">')
    assert _date(head=head) == dt.date(2025, 5, 20)


def test_microdata_date_published_outside_comments_and_other_answers():
    page = """<div itemscope itemtype="http://schema.org/Question"><meta itemprop="dateCreated" content="2025-02-10T03:41:17Z">
    <div itemprop="suggestedAnswer" itemscope itemtype="http://schema.org/Answer"><meta itemprop="dateCreated" content="2025-02-12"></div>
    <div itemprop="acceptedAnswer" itemscope itemtype="http://schema.org/Answer"><meta itemprop="dateCreated" content="2025-02-17T06:12:33Z"></div>
    </div>"""
    assert _date(before_body=page) == dt.date(2025, 2, 17)
    blog = """<span class="time" itemprop="datePublished" content="2025-02-09T20:31:00+08:00">2025-02-09 20:31</span>"""
    comment = """<div itemscope itemtype="http://schema.org/Comment"><meta itemprop="datePublished" content="2026-01-03"></div>"""
    assert _date(header=blog, after_body=comment) == dt.date(2025, 2, 9)
    assert _date(after_body=comment) is None


def test_time_in_the_article_header():
    assert _date(header='<div class="entry-meta"><time datetime="2025-03-14T09:20:11+08:00">3月14日</time></div>') \
        == dt.date(2025, 3, 14)
    assert _date(header='<span>发布时间：<time>2025-03-20</time></span>') == dt.date(2025, 3, 20)  # no datetime: its text


def test_a_time_labelled_a_publication_date_counts_whatever_its_class():
    # A CMS's span.arti_update labelled "Date:" (or 发布时间) holds the publication date.
    assert _date(header='<span class="arti_update">Date: <time datetime="2025-10-20">Oct 20, 2025</time></span>') \
        == dt.date(2025, 10, 20)
    assert _date(header='<span class="update-time">发布时间：<time datetime="2025-10-20">10月20日</time></span>') \
        == dt.date(2025, 10, 20)
    # labelled a modification, or not labelled at all: still not a publication date
    assert _date(header='<span class="arti_update">Updated: <time datetime="2025-10-20">Oct 20</time></span>') is None
    assert _date(header='<span class="modified">更新日期：<time datetime="2025-10-20">10月20日</time></span>') is None
    assert _date(header='<span class="arti_update"><time datetime="2025-10-20">Oct 20, 2025</time></span>') is None


def test_times_that_are_not_the_articles_publication_date():
    assert _date(after_body=COMMENT) is None  # a comment, after the main text
    assert _date(header='<time class="updated" datetime="2025-04-02">更新于 4月2日</time>') is None
    assert _date() is None  # the site's "today" above the title
    related = '<aside><ul><li><a href="/p/2">另一篇</a> <time datetime="2025-01-01">1月1日</time></li></ul></aside>'
    assert _date(before_body=related) is None
    event = '<p>会议定于 <time datetime="2025-05-01">5月1日</time> 召开。</p>'  # inside the body, not the header
    page = lxml_html.fromstring(f"<html><body><article><h1>{TITLE}</h1><p>{BODY_START}</p>{event}<p>{BODY_END}</p>"
                                "</article></body></html>")
    assert publication_date(page, title_element=page.find(".//h1"), body_start=BODY_START, body_end=BODY_END) is None


def test_a_date_shown_only_as_text_is_no_date():
    assert _date(header='<div class="show-info">2024年8月6日 来源：本站</div>') is None


@pytest.mark.parametrize("value, expected", [
    ("2025-03-14T01:20:11+00:00", dt.date(2025, 3, 14)),
    ("2024-12-02T20:00:00-05:00", dt.date(2024, 12, 2)),  # the day the markup writes, in its own zone
    ("2025-10-09 07:30:12", dt.date(2025, 10, 9)),
    ("2025/2/9", dt.date(2025, 2, 9)),
    ("2024年8月6日 10:00", dt.date(2024, 8, 6)),
    ("2025-06-20-16:05:31", dt.date(2025, 6, 20)),
    ("2025/06/20 16:05", dt.date(2025, 6, 20)),
    ("2025-06-20T16:05:31+0800", dt.date(2025, 6, 20)),
    ("06/07/2025", None),  # day and month in an order nothing says
    ("2025-06", None),
    ("20240508", dt.date(2024, 5, 8)),
    ("19 Nov 2019 07:09 GMT", dt.date(2019, 11, 19)),
    ("Fri 6:45 PM, Feb 16, 2018", dt.date(2018, 2, 16)),
    ("0001-01-01T00:00:00Z", None),  # a CMS's empty date
    ("2999-01-01", None),  # the future
    ("2025-02-30", None),
    ("1718015400", None),  # an epoch: in which time zone?
    ("3天前", None),
    ("", None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_json_ld_nested_thousands_deep_is_left_out_and_the_next_script_read():
    """Found by tests/crawlers/test_hostile_pages.py: json raised RecursionError and the page's extraction
    failed; an unreadable script is left out like any other."""
    deep = '<script type="application/ld+json">' + "[" * 20_000 + "]" * 20_000 + "</script>"
    deep_after_one = '<script type="application/ld+json">{"a": 1}, ' + "[" * 20_000 + "]" * 20_000 + "</script>"
    good = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2019-11-18"}</script>'
    assert _date(head=deep + deep_after_one + good) == dt.date(2019, 11, 18)


def _page_date(article: str, before: str = "") -> dt.date | None:
    page = lxml_html.fromstring(f'<html><head><title>{TITLE}</title></head><body>{before}{article}</body></html>')
    return publication_date(page, url="https://blog.example/p/1", title_element=page.find(".//h1"),
                            body_start=BODY_START, body_end=BODY_END)


def test_a_time_above_the_title_in_the_article_s_header_counts():
    """dev.to and many themes put the byline and its <time> above the <h1>, in the same <header>;
    the site's "today" above the article, outside that header, still does not count."""
    header = ('<header><p>Posted on <time datetime="2025-05-13T02:14:00Z">May 13</time> &bull; Edited on '
              f'<time datetime="2025-05-20T09:41:00Z">May 20</time></p><h1>{TITLE}</h1></header>')
    article = f"<article>{header}<p>{BODY_START}</p><p>中间的一段话。</p><p>{BODY_END}</p></article>"
    assert _page_date(article) == dt.date(2025, 5, 13)
    bare = f"<article><h1>{TITLE}</h1><p>{BODY_START}</p><p>中间的一段话。</p><p>{BODY_END}</p></article>"
    assert _page_date(bare, before='<div class="top">今天是 <time datetime="2026-12-01">12月1日</time></div>') is None


def test_an_abbr_s_title_is_the_article_item_s_date_published_wherever_the_post_puts_it():
    """Blogger: <abbr itemprop="datePublished" title="…">21:05</abbr> in the post's post-footer, inside
    the BlogPosting item; a comment's dateCreated in the same item, in its comments block, is not."""
    footer = ('<div class="post-footer"><a class="timestamp-link" href="/p/1"><abbr class="published" '
              'itemprop="datePublished" title="2025-04-12T21:05:00+08:00">21:05</abbr></a></div>')
    comment = '<div class="comments"><span itemprop="dateCreated" content="2025-04-20">4月20日</span></div>'
    post = (f'<div class="post hentry" itemscope itemtype="http://schema.org/BlogPosting"><h1>{TITLE}</h1>'
            f'<p>{BODY_START}</p><p>中间的一段话。</p><p>{BODY_END}</p>{{}}</div>')
    assert _page_date(post.format(footer + comment)) == dt.date(2025, 4, 12)
    assert _page_date(post.format(comment)) is None


@pytest.mark.parametrize("kind", ["Thesis", "PodcastEpisode", "HowTo"])
def test_json_ld_of_the_works_other_pages_are_made_of_gives_their_date(kind):
    """A thesis's abstract page, a podcast episode's show notes, a how-to: the page's own work."""
    head = f"""<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "{kind}",
        "name": "冷库温控复盘", "datePublished": "2025-06-03", "author": {{"@type": "Person", "name": "章若溪"}}}}</script>"""
    assert _date(head=head) == dt.date(2025, 6, 3)
    # a person's or an organization's item is still not the page's work
    other = """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Person",
        "name": "章若溪", "birthDate": "1990-01-02", "datePublished": "2025-06-03"}</script>"""
    assert _date(head=other) is None
