"""Realistic Chinese pages (tests/crawlers/pages/realistic/, written blind to the extraction code),
each fed to the site spider as an HtmlResponse and through the extraction and quality pipelines.

For every page in expected.yaml: the title, the article's first and last sentence, none of its
boilerplate, the date its markup carries (or none), and plain text without Markdown or link syntax.
Pages marked `held_out` are a check no extraction rule was tuned on; those that fail the general
rules are listed in HELD_OUT_FAILURES, xfail(strict=True), so that a fix shows up as well.
"""
import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawlers.pipelines import ExtractionPipeline, QualityPipeline
from crawlers.spiders.site import SiteSpider

PAGES = Path(__file__).parent / "pages" / "realistic"
EXPECTED = yaml.safe_load((PAGES / "expected.yaml").read_text(encoding="utf-8"))

# Held-out pages that the general rules do not get right, with what goes wrong; no rule may be tuned
# on them. The first held-out batch (nine pages) failed on four after its one run on 2026-12-01
# (a 百度知道 question's description, a Discuz thread's prefix, edit notice, signature and jammer
# strings, a government notice's metadata table, a docs page taken for a listing); those pages were
# then looked at, the rules fixed in general terms, and the batch became dev pages. The second
# batch, written afterwards by another session blind to the rules, failed on two after its one run
# the same day (7 of 9 whole and clean, 8 of 9 dates right): a 政策解读 page's 解读机关/联系电话 block
# and its firstpublishedtime meta, a 财经 article's 责任编辑 line. Those two were then looked at and
# fixed in general terms (editorial credit lines, app promotions, contact and organ blocks at the
# end, the government CMS's date meta) and are dev pages now; the other seven stay held out.
# The third batch (nine pages, written by a third session blind to the rules) failed on four after
# its one run the same day (5 / 9 whole and clean): a 掘金 campaign line, a reporter credit line
# without a colon, a 小红书-style note taken for a listing (its <span> lines gave no main text) and a
# table-layout Dvbbs thread (41 characters: a reply). Those four were then looked at (2026-12-02)
# and fixed in general terms (platform campaign lines, reporter credits naming the organ, <br> lines
# into paragraphs, topic tags not counted as links, a title shown as a label's value, with a page
# of another site for each rule) and are dev pages now; the other five stay held out.
# The fourth batch (ten pages, written by a fourth session blind to the rules) failed on three after
# its one run (2026-12-02 01:50 UTC, 7 / 10 whole and clean, every date right): a 思否 answer's inline
# <code> made a line of its own, a GBK 帝国CMS portal kept a reader's comment, a university news page
# kept its closing 供稿/摄影/编辑/审核 line. Those three were then looked at (2026-12-02) and fixed in
# general terms (inline code stays in its paragraph's line, a comment section known by its heading,
# 供稿/供图/排版/一审… credits, with a page of another site for each rule) and are dev pages now; the
# other seven stay held out. The fifth batch (ten pages, written by a fifth session blind to the rules)
# failed on two after its one run (2026-12-02 02:09 UTC, 8 / 10 whole and clean, every date right): an
# ASP.NET association page's <title> kept its column and site after a bare '-', a 人民网 reprint kept
# the paper's edition line and the portal's spaced-out copyright and service e-mail lines. Those two
# were then looked at (2026-12-02) and fixed in general terms (a bare hyphen after a Chinese character
# is a title separator; a print edition line, spaced-out and English copyright lines and longer
# service-mailbox labels are notices at the text's end, with a page of another site for each rule)
# and are dev pages now; the other eight stay held out. The sixth batch (ten pages, written by a sixth
# session blind to the rules) failed on four after its one run (2026-12-02 02:23 UTC, 6 / 10 whole and
# clean, 9 / 10 dates right, none invented): a 凤凰网 page's 责任编辑 line with a staff code and its
# og:time meta (name with a trailing space), a 微博 article's 写在前面 preface, a PHPCMS <h1> with the
# date line after a <br>, a 品玩 article's summary line. Those four were then looked at (2026-12-02):
# the preface and the summary line are the article's own (an author's preface, a standfirst), so their
# expectations were corrected and no rule cuts them; the others were fixed in general terms (a staff
# code after an editor credit, og:time read last in trust, an <h1>'s text up to its <br>, with a page
# of another site for each rule). They are dev pages now; the other six stay held out. The seventh
# batch (ten pages, written by a seventh session blind to the rules) failed on six after its one run
# (2026-12-02 02:43 UTC, 4 / 10 whole and clean, every date right): a 第一财经 page's 摘要 box, 听全文
# AI 朗读 line, 责编 line and lone 举报 line, a 21世纪经济报道 credit closing with its place (深圳报道), a
# uni-app mirror titled by its <title>'s company name and keeping two 精选留言, a county notice's
# 联系电话 line before its 附件 and signature, a Medium subtitle, a case study's lead-form invitation.
# Those six were then looked at (2026-12-02): the subtitle is the author's standfirst, the article's
# own as the sixth round judged, so its expectation was corrected; the others were fixed in general
# terms (a header's byline, player and labelled summary lines, a closing line of page buttons, a
# reporter credit's organ with Latin letters or digits and its place, a contact line among a notice's
# closing lines, a form box with its invitation, custom elements as blocks, the heading above the
# text when <title> is a name shown above it, with a page of another site for each rule). They are
# dev pages now; the other four stay held out. The eighth batch (ten pages, written by an eighth
# session blind to the rules) failed on two after its one run (2026-12-02 05:27 UTC, 8 / 10 whole and
# clean, every date right): a 钛媒体 page's 钛媒体注：本文来源于…经授权发布。 reprint note opening the body,
# a 界面新闻 page's 界面新闻记者 | … and 界面新闻编辑 | … credit lines. Those two were then looked at
# (2026-12-02) and fixed in general terms (an editor's note label, 某某注：/编者注：/【编者按】, before a
# reprint note, which may open with a bracket, 文章/原文 or 经授权转载; a staff role after the organ's
# name with a bar or slash before the name, with a page of another site for each rule) and are dev
# pages now; the other eight stay held out. The ninth batch (ten pages, written by a ninth session
# blind to the rules) failed on five after its one run (2026-12-02 05:48 UTC, 5 / 10 whole and clean,
# every date right): a 每日经济新闻 page's closing 封面图片来源 line, a wire story's 'Our Standards:' line,
# a 美通社 release's closing 消息来源 line, an old 新浪博客 post titled by the blog's name in its <h1>, and
# 亿欧's standfirst under a 导语 label dropped. Those five were then looked at (2026-12-02): the 导语
# standfirst is the article's own (导语 is the lead its author writes, 摘要 the site's abstract, which
# the seventh round's rule still cuts), so its expectation stands and the lead is now taken; the others
# were fixed in general terms (closing image-credit lines, 封面/题图/头图…来源; a wire's standards
# line; 消息来源/新闻来源 credits; the post's <h2> when the <h1> is the site's name by og:site_name or
# <title>; a lead under a 导语 label above the body, with a page of another site for each rule). They
# are dev pages now; the other five stay held out. The tenth batch (ten pages, written by a tenth
# session blind to the rules) failed on two after its one run (2026-12-02 06:06 UTC, 8 / 10 whole and
# clean, every date right): a 财联社 page kept its closing 打开财联社APP，查看更多深度内容 line, and a Ghost
# page's author excerpt under the <h1> (its expected first sentence) was left out. Those two were then
# looked at (2026-12-03): the app line is fixed in general terms (an "open our app" line, 打开/前往/进入
# …APP/客户端 without a full stop, at the text's edge, with a page of another site); the excerpt is a
# dek, which the public benchmark's ground truth leaves out of the article on five real pages of the
# same shape (a rule taking it lowered real-page F1 from 0.9773 to 0.9754), so the page's expected
# first sentence is now the body's. Both are dev pages now; the other eight stay held out. No page of
# those batches fails now. The eleventh batch (ten pages, written by an eleventh session blind to the
# rules) failed on three after its one run (2026-12-03 15:31 UTC, 7 / 10 whole and clean, 9 / 10 dates
# right): a 飞书 doc's header line of owner, 最近修改 date and 次阅读 count, a stock exchange page titled
# by its column (本所新闻, from <title>) over its <h2> headline, and an English university page's
# Written by:/Edited by: line and its <time> in a span named arti_update but labelled Date:. Those three
# were then looked at (2026-12-03) and fixed in general terms (a header line of metadata only: a name,
# a labelled or bare date and a readers' count; English credit lines, a role, a colon and capitalized
# names; the last <h2>/<h3> above the text when <title> is a column the page links to and there is no
# <h1>; a header <time> labelled Date:/Published:/发布时间 counts whatever its class says, with a page of
# another site for each rule). They are dev pages now; the other seven stay held out. The twelfth
# batch (ten pages, written by a twelfth session blind to the rules) failed on one after its one run
# (2026-12-03 15:46 UTC, 9 / 10 whole and clean, every date right): a press-conference page's QR
# caption 扫一扫在手机打开当前页. It was then looked at (2026-12-03) and fixed in general terms (a QR
# widget's caption, scan to open, read or share this page, at the text's edge, with a page of another
# site); it is a dev page now, the other nine stay held out. The thirteenth batch's failures after
# its one run are below.
HELD_OUT_FAILURES: dict[str, str] = {
    # The thirteenth held-out batch's one run (2026-12-03 16:04 UTC, after the twelfth batch's fix was
    # merged): 6 / 10 whole and clean, every date right. Two of its four failures (a photo caption,
    # a thread title with the forum's name after a space) were then looked at and fixed in general
    # terms (2026-12-03: a photo caption with its photographer's credit wherever it is; the heading
    # before a space and a short name in <title>, each with a page of another site) and are dev pages
    # now; these two were not looked at further.
    "notion_public_page_store_inspection_ai_pilot.html": "keeps the closing contact line (请发邮件至…预约演示)",
    "chenxun_wenda_reefer_truck_income_answer.html": "keeps other answers of the Q&A page",
    # The fourteenth held-out batch's one run (2026-12-04 19:12 UTC, after the thirteenth batch's
    # fixes): 4 / 10 whole and clean, 9 / 10 dates right. Five of its six failures were then looked
    # at and fixed in general terms (2026-12-04: a label/value table whose values are the text is
    # the article, not its metadata; a data source note and a platform's counter lines wherever they
    # are; a reprint's 原文链接 line at an edge; a headed fact box at the end; an author's bio box by
    # its name; the header <time> between a kept <h1> and the text) and are dev pages now.
    "gbk_tianya_style_county_logistics_park_thread.html": "keeps replies of the thread",
    # The fifteenth held-out batch's one run (2026-12-04 19:31 UTC, after the fourteenth batch's
    # fixes): 5 / 10 whole and clean, 7 / 10 dates right. Four of its five failures were then looked
    # at and fixed in general terms (2026-12-04: a header <time> above the title in the article's
    # <header>; an <abbr>'s title as the article item's datePublished, wherever the post puts it; a
    # "Blog: Post" title with the post's <h3> heading; a blog header line with its category and tags,
    # a sidebar widget's line and a marked newspaper byline above the text) and are dev pages now.
    # Its other answers were looked at too (2026-12-04) and are fixed (answers beside one marked
    # accepted or best go); its date stays a day late by the Q&A rule (the accepted answer's date,
    # where the page's judge wanted the question's), so the page is no longer blind.
    "csdn_ask_tensorrt_int8_defect_confidence.html": "the date a day late (the accepted answer's)",
    # The nineteenth held-out batch's one run (2026-12-04 20:42 UTC, after the eighteenth batch's
    # fixes): 8 / 10 whole and clean, every date right. One of its two failures was then looked at
    # and fixed in general terms (the article's own print edition line, 本文刊登于《…》…版, at an
    # edge) and is a dev page now; the other was not looked at further.
    "toutiao_weitoutiao_reefer_driver_lychee_season.html": "title is the platform's name (今日头条)",
    # The eighteenth held-out batch's one run (2026-12-04 20:25 UTC, after the seventeenth batch's
    # fixes): 5 / 10 whole and clean, every date right. Three of its five failures were then looked
    # at and fixed in general terms (2026-12-04: a media account's byline wherever it is; a credit
    # whose value is an organ, a title and a name; a contact line with a long value) and are dev pages
    # now. The forum transcript was looked at too and still fails (its speaker card, session line
    # and media partners' line), so it is no longer blind; the investor Q&A was not looked at further.
    "investor_interaction_qa_storage_margin_orders.html": "misses the investor's question",
    "expo_forum_speech_transcript_coldchain_power.html": "keeps the speaker card, the session line and the partners' line",
    # The seventeenth held-out batch's one run (2026-12-04 20:05 UTC, after the sixteenth batch's
    # fixes): 2 / 10 whole and clean, 8 / 10 dates right. Five of its eight failures were then looked
    # at and fixed in general terms (2026-12-04: JSON-LD of a thesis, a podcast episode or a how-to
    # as the page's work; a record of labelled fields after the text, and what follows it unless
    # prose does; labelled disclaimers and music credits at an edge; the headline block when <title>
    # is the site's name in its copyright line; a sidebar's contact block above the text) and are
    # dev pages now; these three were not looked at further.
    "expo_exhibitor_directory_profile_storage_pcs.html": "keeps the exhibitor's name line and the directory's notice",
    "xiaoe_style_course_lesson_warehouse_llm_tickets.html": "keeps a 【课程福利】 promotion box",
    "en_shopify_exporter_store_blog_spindle_warmup.html": "keeps an inline product card and a comment",
    # The sixteenth held-out batch's one run (2026-12-04 19:51 UTC, after the fifteenth batch's
    # fixes): 7 / 10 whole and clean, every date right. Its three failures were then looked at and
    # fixed in general terms (2026-12-04: a leading summary table of grouped fields, up to 20 rows; a
    # photo caption ending in the photographer's role, name and 摄; a shop's product tiles, service
    # lines and their heading at the end) and are dev pages now.
}

# Markdown a plain text must not carry: links, images, headings, emphasis, code fences, table rules.
MARKDOWN = re.compile(
    r"!?\[[^\]\n]*\]\([^)\n]*\)"  # [text](url), ![alt](src)
    r"|^#{1,6}\s"  # headings
    r"|\*\*[^*\n]+\*\*|__[^_\n]+__"  # bold
    r"|^```|^\|.*\|$|^\s*\|?\s*-{3,}\s*\|"  # code fences, table rows and rules
    r"|<a\s|</a>|href=",  # left-over HTML links
    re.M,
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _params():
    for entry in EXPECTED:
        marks = []
        if entry["held_out"] and entry["file"] in HELD_OUT_FAILURES:
            marks.append(pytest.mark.xfail(strict=True, reason=HELD_OUT_FAILURES[entry["file"]]))
        group = "held_out" if entry["held_out"] else "dev"
        yield pytest.param(entry, id=f"{group}-{entry['file'].removesuffix('.html')}", marks=marks)


def _extract(entry):
    """Returns the page item after the spider and the extraction and quality pipelines."""
    url = entry["url"]
    # GBK pages come with no charset anywhere, the header included, as such servers send them.
    content_type = "text/html" if entry["encoding"] == "gbk" else "text/html; charset=utf-8"
    source = SimpleNamespace(start_urls=[url], allowed_domains=[], allow_patterns=[], deny_patterns=[])
    crawler = get_crawler(SiteSpider, {"PAGE_MAX_BYTES": 3_000_000})
    spider = SiteSpider.from_crawler(crawler, source=source, run_id=0)
    crawler.spider = spider
    response = HtmlResponse(url, body=(PAGES / entry["file"]).read_bytes(), headers={"Content-Type": content_type},
                            request=Request(url, meta={"page": True}))
    item = list(spider.parse_page(response))[-1]
    for pipeline in (ExtractionPipeline(crawler), QualityPipeline(crawler)):
        item = pipeline.process_item(item)
    return item


@pytest.mark.parametrize("entry", list(_params()))
def test_realistic_page_is_stored_whole_and_clean(entry):
    item = _extract(entry)
    page = item.page
    assert page is not None, item.reason
    text = _norm(page.text)
    problems = []
    if item.outcome is not None:
        problems.append(f"not saved: {item.outcome} ({item.reason})")
    if page.title != entry["title"]:
        problems.append(f"title {page.title!r}")
    for which in ("first_sentence", "last_sentence"):
        if _norm(entry[which]) not in text:
            problems.append(f"{which} missing: {entry[which]}")
    problems += [f"boilerplate kept: {s}" for s in entry["must_not_contain"] if _norm(s) in text]
    want = dt.date.fromisoformat(str(entry["date"])) if entry["date"] else None
    got = page.published_at.date() if page.published_at else None
    if got != want:
        problems.append(f"date {got}, expected {want}")
    problems += [f"markdown: {m.group(0)!r}" for m in MARKDOWN.finditer(page.text)]
    assert not problems, "\n".join(problems)


def test_expected_yaml_has_no_key_twice_in_an_entry():
    """A line-wise merge of two batches once gave a page a second `held_out` and `notes` (YAML keeps
    the last silently, so a dev page became held out): refuse any repeated key."""
    class Strict(yaml.SafeLoader):
        pass

    repeated = []

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(key) for key, _ in node.value]
        repeated.extend(f"line {node.start_mark.line + 1}: {k}" for k in set(keys) if keys.count(k) > 1)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load((PAGES / "expected.yaml").read_text(encoding="utf-8"), Loader=Strict)  # noqa: S506 - a SafeLoader
    assert not repeated, repeated
