"""Main-text extraction (crawlers.extraction.extract_page): plain text, the article's own title,
boilerplate left out by general rules, Q&A pages, and links counted on the extracted tree."""
import pytest
from django.conf import settings

from crawlers.extraction import extract_page

PARAGRAPHS = [
    "上个月我们走访了华东地区的三家冷链仓库，想弄清楚温控记录到底是怎么做出来的，又是怎么被审计发现问题的。",
    "第一家仓库的探头布置在门口附近，每次开门都会触发报警，值班人员干脆把报警阈值调高了两度，记录看起来一直正常。",
    "第二家仓库用的是新上线的温湿度监控系统，数据每五分钟上传一次，但除霜期间的数据被系统自动过滤掉了。",
    "第三家仓库的做法最值得借鉴：每季度做一次温度分布验证，探头位置变更必须经过质量部审批，原始数据保留五年。",
    "回头看，真正起作用的不是多高深的技术，而是把原始数据完整地拉出来，一条一条对上现场。",
]
URL = "https://blog.example/2025/03/audit/"


def _page(body: str, *, title: str = "冷链审计笔记", head: str = "") -> str:
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><nav class="menu"><a href="/">首页</a> <a href="/cold/">冷链</a> <a href="/about/">关于</a></nav>
{body}
<div class="footer">版权所有 © 2025 老冷的冷链手记 · 浙ICP备2023041127号-1</div></body></html>"""


def _article(extra_paragraphs: str = "", *, h1: str = "冷链审计笔记") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f'<article class="post"><h1>{h1}</h1>{paragraphs}{extra_paragraphs}</article>'


def _lines_with_at_either_edge(line: str) -> list[list[str]]:
    """The stored text's lines, the article's title left out, with `line` as the article's first
    paragraph and then as its last."""
    out = []
    for paragraphs in ([line, *PARAGRAPHS], [*PARAGRAPHS, line]):
        body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in paragraphs)}</article>'
        out.append([text for text in extract_page(_page(body), URL).text.split("\n") if text != "冷链审计笔记"])
    return out


def _lines_after(extra: str, *, before: str = "") -> list[str]:
    """The stored text's lines, the title left out, of the article with `before` above its
    paragraphs and `extra` after them."""
    body = f'<article class="post"><h1>冷链审计笔记</h1>{before}{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}{extra}</article>'
    return [text for text in extract_page(_page(body), URL).text.split("\n") if text != "冷链审计笔记"]


def test_text_is_plain_without_markdown_or_link_syntax():
    body = _article("""<p>详见<a href="https://gsp.example/rule">《药品经营质量管理规范》附录</a>第十二条。</p>
<h2>三家仓库对比</h2>
<ul><li>探头位置：门口</li><li>数据间隔：五分钟</li></ul>
<table><tr><th>仓库</th><th>报警次数</th></tr><tr><td>甲</td><td>12</td></tr><tr><td>乙</td><td>3</td></tr></table>
<pre><code>SELECT probe_id, max(temp)
  FROM readings GROUP BY probe_id;</code></pre>""")
    page = extract_page(_page(body), URL)
    text = page.text
    assert "详见《药品经营质量管理规范》附录第十二条。" in text
    for syntax in ("](", "[《", "https://gsp.example", "|", "---", "# ", "- 探头", "```", "**"):
        assert syntax not in text
    lines = text.split("\n")
    assert "三家仓库对比" in lines and "探头位置：门口" in lines and "数据间隔：五分钟" in lines
    assert "仓库 报警次数" in lines and "甲 12" in lines
    assert "  FROM readings GROUP BY probe_id;" in lines  # code keeps its indentation
    assert page.link_count == 1 and 0 < page.link_text_share < 0.1  # counted on the tree, not the text


def test_title_is_the_articles_not_the_sites():
    assert extract_page(_page(_article(), title="冷链审计笔记 - 老冷的冷链手记"), URL).title == "冷链审计笔记"
    assert extract_page(_page(_article(), title="老冷的冷链手记 | 冷链审计笔记"), URL).title == "冷链审计笔记"
    assert extract_page(_page(_article(h1="冷链审计：上篇"), title="冷链审计：上篇 - 老冷"), URL).title == "冷链审计：上篇"


def test_boilerplate_containers_go_by_their_names_but_never_the_articles_wrapper():
    body = f"""<div class="content-with-sidebar">{_article()}
<div class="post-reward"><p>如果这篇文章帮到了你，可以请我喝杯咖啡。</p></div>
<div class="post_statement"><p>特别声明：本文为作者上传并发布，仅代表该作者观点，平台仅提供信息发布服务。</p></div>
<div class="recommend-box"><p>夏季高峰期冷藏车的预冷清单，一份讲透冷藏车预冷的完整指南。</p></div>
<div id="MySignature" role="contentinfo"><p>本文版权归作者所有，欢迎转载，但请注明出处。</p></div></div>"""
    text = extract_page(_page(body), URL).text
    assert PARAGRAPHS[0] in text and PARAGRAPHS[-1] in text
    for boilerplate in ("请我喝杯咖啡", "特别声明", "预冷清单", "本文版权归作者所有"):
        assert boilerplate not in text


def test_layout_tables_do_not_bring_the_menu_sidebar_and_footer():
    cells = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    body = f"""<table><tr><td class="menu"><a href="/">网站首页</a> | <a href="/news/">协会动态</a></td></tr></table>
<table><tr><td width="240"><table><tr><td>协会动态</td></tr>
<tr><td>· <a href="/n/1">协会召开展台搭建安全工作座谈会</a> [2025-02-20]</td></tr>
<tr><td>· <a href="/n/2">关于开展会员单位信用评价的通知</a> [2025-02-12]</td></tr></table></td>
<td><table><tr><td class="titlered">冷链审计笔记</td></tr><tr><td class="font14">{cells}</td></tr></table></td></tr></table>"""
    page = extract_page(_page(body, title="冷链审计笔记--临江市会展业协会"), URL)
    assert page.title == "冷链审计笔记"
    assert page.text.split("\n")[0] == PARAGRAPHS[0] and page.text.split("\n")[-1] == PARAGRAPHS[-1]


def test_notices_at_the_edges_and_after_an_end_marker_are_cut():
    body = f"""<article class="post"><h1>冷链审计笔记</h1>
<p>本文来自微信公众号“冷链手记”（ID：lengchain），作者：老冷，经授权发布。</p>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}
<p>本文为作者原创，未经授权禁止转载。</p>
<p>- END -</p><p>往期推荐</p><p><a href="/p/9">冷藏集装箱预冷到底要多久</a></p><p>长按识别二维码，关注冷链手记</p></article>"""
    text = extract_page(_page(body), URL).text
    assert PARAGRAPHS[0] in text and PARAGRAPHS[-1] in text
    for notice in ("本文来自微信公众号", "未经授权禁止转载", "END", "往期推荐", "长按识别二维码"):
        assert notice not in text


@pytest.mark.parametrize("before, after", [
    ("<p>来源：冷链手记 作者：老冷</p>", "<p>（责任编辑：蒋一帆）</p>"),
    ("<p>文/老冷 编辑/小周</p>", "<p>编辑：小周 校对：王五 审核：赵六</p>"),
    ("<p>【来源：新华社】</p>", '<p data-role="editor-name">责任编辑：<span></span></p>'),
    ("", "<p>编辑 | 小周</p><p>责编：李四，审校：王五</p>"),
    ("", '<p class="article-editor">责任编辑：蒋一帆</p><p>扫描二维码下载冷链手记APP，行业动态一手掌握</p>'),
    # a reporter's credit names the organ and needs no colon; a dateline may open the line
    ("<p>冷链日报记者 钱雨桐 见习记者 孔维东</p><p>2025-03-14 09:30 来源：冷链日报</p>", ""),
    ("<p>（记者 钱雨桐、孔维东）</p>", "<p>本报通讯员 沈立群</p>"),
    # a university or institute news page's closing credits name the contributing unit (供稿, 供图)
    ("", '<p style="text-align:right">供稿：质量管理学院 供图：宣传部 编辑：韩露 审核：蒋立新</p>'),
    ("", "<p>（文/裴思远 供图/冷链研究所 排版/小陆 一审/韩露 二审/蒋立新）</p>"),
])
def test_editorial_credit_lines_at_the_edges_are_cut(before, after):
    body = f"""<article class="post"><h1>冷链审计笔记</h1>{before}
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}{after}</article>"""
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == PARAGRAPHS


@pytest.mark.parametrize("sentence", [
    "编辑部的同事告诉记者，这批审计报告要在周五前全部校对完毕。",
    "责任编辑制度落实到人以后，温控记录的差错率下降了一半。",
    "编辑：这个问题我们会在下一期专门讨论，欢迎读者留言提供线索和案例。",
    "下载“冷链手记”APP即可查询每一台冷藏车的温度曲线。",
    "打开手机银行APP，在首页点击“供应链金融”，上传发票后当天即可提款。",
    "进入司机端APP后，系统会自动推送下一单的装货地点和时间窗口。",
    "扫码点餐已经是很多门店的标配，这篇文章想聊聊它背后的数据。",
    "记者日前从市商务局获悉，全市冷库的温控抽检合格率已经连续三年上升。",
    "我参加了行业协会组织的冷链培训活动，讲师反复强调的也是原始数据。",
    "本文参与讨论的三家仓库都同意公开数据，名称做了处理。",
])
def test_a_sentence_that_mentions_an_editor_or_an_app_is_kept(sentence):
    for lines in _lines_with_at_either_edge(sentence):
        assert sentence in lines


@pytest.mark.parametrize("line", [
    "沈亦舟 最近修改：9月3日 1,204 次阅读",
    "发布于 2025-09-03 10:12 · 浏览量：3456",
    "老冷 | 2025-03-14 09:30 | 阅读 5.6W",
    # a blog platform's header line with the post's category and tags and its buttons
    "2011-09-14 21:37:08| 分类：车间杂记 | 标签：车床 数控 老厂 |举报|字号 大中小 订阅",
    # a sidebar widget's line above the text
    "今日天气：常州 晴 24～31℃",
    "访问统计：总访问量 86231",
    # a newspaper's byline under its marker
    "□ 营销中心 顾文涛",
    "■ 本报记者 张三 李四",
])
def test_a_header_line_of_name_date_and_readers_is_cut(line):
    body = f"""<article class="post"><h1>冷链审计笔记</h1><p>{line}</p>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>"""
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [text for text in lines if text != "冷链审计笔记"] == PARAGRAPHS


@pytest.mark.parametrize("caption", [
    "图为冷库内部的自动化立体货架。（记者 钱雨桐 摄）",
    "上图：工人在分拣区作业 通讯员 沈立群 摄",
    "图为园区入口。冷链日报记者 孔维东摄",
    # what the photo shows, then the credit, without 图为
    "澄州机床厂数控车间内，工人正在查看设备运行数据。人民视窗网记者 李想摄",
    "工人在冷库分拣区作业。（新华社记者 张三 摄）",
])
def test_a_photo_caption_is_cut_wherever_it_is(caption):
    middle = len(PARAGRAPHS) // 2
    paragraphs = [*PARAGRAPHS[:middle], caption, *PARAGRAPHS[middle:]]
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in paragraphs)}</article>'
    lines = [line for line in extract_page(_page(body), URL).text.split("\n") if line != "冷链审计笔记"]
    assert lines == PARAGRAPHS


def test_a_thread_title_is_its_heading_before_a_space_and_the_forum_s_name():
    body = f"""<div class="thread"><h3 id="subject">[讨论] 冷库温控审计到底该怎么做</h3>
<div class="postcontent">{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div></div>"""
    page = extract_page(_page(body, title="[讨论] 冷库温控审计到底该怎么做 冷链论坛"), URL)
    assert page.title == "冷库温控审计到底该怎么做"
    # a title with a space of its own and no heading that stops there stays whole
    body = f"""<div class="thread"><h3>年终盘点</h3>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>"""
    assert extract_page(_page(body, title="冷链 2025 年终盘点"), URL).title == "冷链 2025 年终盘点"


def test_the_headline_under_a_column_s_title_is_the_title():
    """An institution's CMS: <title> is the column (a link in the navigation), the headline an <h2>."""
    body = f"""<div class="crumbs">当前位置：<a href="/">首页</a> &gt; <a href="/news/">协会动态</a></div>
<div class="side"><h3>栏目导航</h3><ul><li><a href="/news/">协会动态</a></li><li><a href="/notice/">通知公告</a></li></ul></div>
<div class="content"><h2>冷链协会发布第一批冷库温控审计结果</h2><div class="info">2025-03-14</div>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>"""
    page = extract_page(_page(body, title="协会动态 | 江澄冷链协会"), URL)
    assert page.title == "冷链协会发布第一批冷库温控审计结果"
    # a page whose <title> is its own headline keeps it, whatever <h2>s it has
    body = f"""<div class="content"><h2>第一批审计结果</h2>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>"""
    assert extract_page(_page(body, title="冷链审计笔记"), URL).title == "冷链审计笔记"


@pytest.mark.parametrize("line", [
    # a platform's campaign or contest line
    "本文已参与「冷链写作季」征文活动，一起来分享你的仓库故事。",
    "我正在参加冷链社区创作者成长计划，点击链接报名投稿。",
    "本文为第二届仓储技术征文参赛作品",
    # a line asking to open the site's app, or this page on a phone
    "打开冷链手记APP，查看更多深度内容",
    "点击打开冷链日报客户端，阅读更多行业报道",
    "前往运联APP，获取完整版数据报告 >",
    "扫一扫在手机打开当前页",
    "微信扫一扫，分享到朋友圈",
    "扫码在手机上阅读本文",
    # a reprint's link to its original
    "原文链接：https://zhuanlan.zhihu.example/p/7065531208",
    # an English credit line
    "Written by: Lin Zhiyuan\u3000Edited by: Zhao Yiran, Sarah Whitfield",
    "Photos: Chen Lu | Editor: Mark Potter",
    "Text and photos by: Wang Fang",
])
def test_a_notice_line_at_either_edge_is_cut(line):
    for lines in _lines_with_at_either_edge(line):
        assert lines == PARAGRAPHS


@pytest.mark.parametrize("sentence", [
    "Edited by hand, the temperature logs were checked against the reefer units' own records.",
    "Source: the operators' own figures, which the association has not audited.",
    "2025年3月14日，冷链协会公布了第一批审计结果，共有27家仓库参加。",
    "图为该公司提供的数据，显示三季度冷库出租率已经回升到八成以上。",
    "这组照片由本报记者张三摄于去年冬天的嘉兴冷库，当时库温已经降到零下二十度。",
    "本文刊登于《冷链周报》后引起了广泛讨论，多家冷库企业随后调整了温控记录的做法。",
])
def test_a_sentence_that_opens_like_a_notice_is_kept(sentence):
    for lines in _lines_with_at_either_edge(sentence):
        assert sentence in lines


@pytest.mark.parametrize("block", [
    "<div><p>解读机关：江澄省商务厅流通业发展处</p><p>解读人：处长 沈立群</p><p>联系电话：0571-87051126</p></div>",
    "<p>发布机构：临江市交通运输局<br>联系人：王科长<br>咨询电话：0571-87050000<br>电子邮箱：jtj@linjiang.gov.example</p>",
    "<p>媒体联系人：陈女士</p><p>电话：021-60000000</p><p>邮箱：pr@cold.example</p><p>地址：上海市浦东新区科苑路88号</p>",
])
def test_a_block_of_contact_and_organ_lines_at_the_end_is_cut(block):
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}{block}</article>'
    assert extract_page(_page(body), URL).text.split("\n")[-1] == PARAGRAPHS[-1]


def test_label_lines_that_are_not_contacts_and_contacts_inside_the_text_are_kept():
    specs = "<p>额定功率：5.5kW</p><p>制冷剂：R404A</p>"
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}{specs}</article>'
    assert extract_page(_page(body), URL).text.split("\n")[-2:] == ["额定功率：5.5kW", "制冷剂：R404A"]
    inside = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:2]) + "<p>联系电话：0571-87051126</p>" + \
        "".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:])
    text = extract_page(_page(f'<article class="post"><h1>冷链审计笔记</h1>{inside}</article>'), URL).text
    assert "联系电话：0571-87051126" in text.split("\n")


def test_repeated_dated_items_go_but_a_long_post_stays():
    comments = "".join(f'<div class="tie_item"><span class="tie_user">网友{n}</span><span class="tie_time">2025-03-1{n} 13:05</span>'
                       f"<p>第{n}条跟贴：我们也遇到过除霜期间数据被过滤的问题。</p></div>" for n in range(3))
    long_post = ('<div class="tie_item"><span class="tie_time">2025-03-19 09:00</span>'
                 f'<p>{"".join(PARAGRAPHS)}</p></div>')
    text = extract_page(_page(_article() + f'<div class="tie_list">{comments}{long_post}</div>'), URL).text
    assert "跟贴" not in text
    assert PARAGRAPHS[0] in text


def test_qa_page_keeps_the_question_and_its_answer_not_the_related_list():
    body = f"""<main><section data-qa-question="1906"><h1>冷库温控记录怎么做才经得起审计？</h1>
<div class="prose"><p>我们公司刚接手一个医药冷库，下个月要迎接客户审计。</p><p>温控记录应该怎么做，哪些地方最容易出问题？</p></div>
<div class="meta"><span>提问者 小王</span><button>我来回答</button></div></section>
<article class="answer" data-accepted="true"><header><a href="/u/1">老冷</a><time datetime="2025-04-22T16:40:05+08:00">4月22日</time></header>
<div class="answer-body">{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div></article>
<section><h2>大家还在问</h2><ul>
<li><a href="/qa/1">冷藏车预冷要多久？</a><p>一般需要三十分钟左右，视车型而定……</p></li>
<li><a href="/qa/2">温湿度探头多久校准一次？</a><p>通常每年校准一次，关键点位半年一次……</p></li>
<li><a href="/qa/3">冷库除霜时温度超标算不算偏差？</a><p>要看除霜时长和温度回升幅度……</p></li></ul></section></main>"""
    page = extract_page(_page(body, title="冷库温控记录怎么做才经得起审计？"), URL)
    lines = page.text.split("\n")
    assert lines[:2] == ["我们公司刚接手一个医药冷库，下个月要迎接客户审计。", "温控记录应该怎么做，哪些地方最容易出问题？"]
    assert PARAGRAPHS[-1] in page.text
    assert "冷藏车预冷要多久" not in page.text and "通常每年校准一次" not in page.text
    assert page.published_at.date().isoformat() == "2025-04-22"  # the answer's header, not a visible date


def _is_listing(page) -> bool:
    return page.is_link_list(max_link_share=settings.CRAWL_MAX_LINK_TEXT_SHARE,
                             min_chars_per_link=settings.CRAWL_MIN_CHARS_PER_LINK)


def test_a_teaser_listing_counts_its_headline_links():
    """Precision mode drops the teasers' headline links; they are counted on the balanced-mode tree."""
    items = "".join(f'<li><h2><a href="/p/{n}">第{n}篇：{p[:18]}</a></h2><p class="summary">{p}</p></li>'
                    for n, p in enumerate(PARAGRAPHS * 2))
    page = extract_page(_page(f'<main><h1>冷链</h1><ul class="items">{items}</ul></main>', title="冷链 | 老冷的冷链手记"),
                        URL)
    assert page is None or _is_listing(page)


def test_an_article_with_a_related_list_after_it_is_not_a_listing():
    related = "".join(f'<li><a href="/p/{n}">相关文章第{n}篇：冷藏车预冷清单与实操要点</a></li>' for n in range(8))
    page = extract_page(_page(_article() + f"<ul>{related}</ul>"), URL)
    assert not _is_listing(page)
    assert PARAGRAPHS[0] in page.text


@pytest.mark.parametrize("head", [
    '<meta property="article:published_time" content="2025-03-14T09:20:11+08:00">',
    '<script type="application/ld+json">{"@type": "BlogPosting", "datePublished": "2025-03-14"}</script>',
])
def test_date_comes_from_markup_not_from_a_comment(head):
    comment = '<div class="comments"><div class="comment"><time datetime="2025-04-09">4月9日</time><p>写得好，谢谢分享。</p></div></div>'
    page = extract_page(_page(_article() + comment, head=head), URL)
    assert page.published_at.date().isoformat() == "2025-03-14"


def test_a_note_written_as_span_lines_between_line_breaks_is_the_article():
    """A note site's text is <span> lines ended by <br> in one <span>, no paragraph: extracted whole."""
    spans = "".join(f"<span>{p}</span><br>" for p in PARAGRAPHS)
    body = f"""<div class="note-container"><div class="author"><a href="/u/1">老冷</a><button>关注</button></div>
<div class="note-scroller"><div class="title">冷链审计笔记</div>
<div class="desc"><span class="note-text">{spans}</span></div></div></div>"""
    assert extract_page(_page(body), URL).text.split("\n")[-len(PARAGRAPHS):] == PARAGRAPHS


def test_a_forum_post_written_as_lines_in_a_table_cell_is_the_article():
    """Every floor's cell has the same class; the opening post's lines, not a one-line reply, are the text."""
    def floor(user: str, number: str, text: str) -> str:
        return f"""<table class="floor"><tr><td class="user" width="170"><b>{user}</b><br>注册：2009-3-21</td>
<td class="content"><table><tr><td>{number} 发表于：2012-5-14 9:27:00</td></tr></table>{text}</td></tr></table>"""
    body = floor("老冷", "楼主", "<br><br>".join(PARAGRAPHS) + "<br>") + floor(
        "小王", "2楼", "说得对，我们仓库也是除霜期间的数据被过滤掉了，审计的时候才发现。")
    text = extract_page(_page(body), URL).text
    assert text.split("\n")[-len(PARAGRAPHS):] == PARAGRAPHS


def test_a_short_note_with_topic_tags_is_one_article_and_the_tags_go():
    tags = " ".join(f'<a href="/search?q={t}" class="tag">#{t}</a>' for t in ("冷链", "仓储", "审计", "医药物流", "温控"))
    inline = '我们这次用的是<a href="/search?q=冷链">#冷链#</a>行业最常见的审计清单。'
    body = f"""<div class="note"><div class="title">冷链审计笔记</div>
<div class="desc">{"".join(f"<p>{p}</p>" for p in PARAGRAPHS[:3])}<p>{inline}</p>
<div class="tags">{tags}</div></div></div>"""
    page = extract_page(_page(body), URL)
    assert not _is_listing(page)
    assert page.text.split("\n")[-1] == "我们这次用的是#冷链#行业最常见的审计清单。"
    assert page.link_count == 0  # topic tags label the note, they are not teasers for other pages


def test_a_title_shown_only_as_a_labels_value_is_the_title():
    """An old forum has no heading: the thread title is a table cell's text after a label."""
    body = f"""<table><tr><td><b>主题：</b>冷链审计笔记：三家仓库的温控记录</td></tr>
<tr><td><a href="/">老冷的冷链论坛</a></td></tr><tr><td>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</td></tr></table>"""
    page = extract_page(_page(body, title="冷链审计笔记：三家仓库的温控记录 - 仓储版 - 老冷的冷链论坛"), URL)
    assert page.title == "冷链审计笔记：三家仓库的温控记录"


def test_inline_code_inside_a_paragraph_stays_in_its_sentence():
    """An inline <code> (a flag, a log line that starts with "#") is part of its paragraph's line; a code
    block keeps lines of its own."""
    body = _article("""<p>启动日志里会打印一行 <code># Free slots: 4096</code>，再乘以每块的大小就是可用的总量。</p>
<p>把 <code>--workers 8</code> 改成 <code>--workers 2</code> 以后，<code>/healthz</code> 就不再超时了。</p>
<pre><code>uvicorn app:main --workers 2</code></pre>""")
    lines = extract_page(_page(body), URL).text.split("\n")
    assert "启动日志里会打印一行 # Free slots: 4096，再乘以每块的大小就是可用的总量。" in lines
    assert "把 --workers 8 改成 --workers 2 以后，/healthz 就不再超时了。" in lines
    assert "uvicorn app:main --workers 2" in lines
    assert not any(line.startswith("# ") for line in lines)


@pytest.mark.parametrize("heading", ["网友评论", "读者留言（2）", "发表评论", "3 Comments"])
def test_a_comment_section_named_only_by_its_heading_goes(heading):
    """A comment section whose class says nothing (an old CMS's "news_pl") is known by its heading."""
    comments = (f'<div class="news_pl"><h3>{heading}</h3><p class="pl_tip">共有 2 条评论</p>'
                '<div class="pl_item"><span class="pl_user">安徽网友 2025-03-12 15:40</span>'
                "<p>我们仓库的探头也装在门口，报警一响就有人去调阈值，这篇说得太准了。</p></div>"
                '<div class="pl_item"><span class="pl_user">山东网友 2025-03-13 09:02</span>'
                "<p>原始数据保留五年这条，审计的时候确实帮了大忙。</p></div>"
                '<form action="/e/pl/doaction.php"><textarea name="saytext"></textarea></form></div>')
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    box = f'<div class="news_box"><h1>冷链审计笔记</h1><div class="news_text">{paragraphs}</div>{comments}</div>'
    text = extract_page(_page(box), URL).text
    assert "报警一响就有人去调阈值" not in text and "审计的时候确实帮了大忙" not in text and "共有 2 条评论" not in text
    assert text.split("\n")[-1] == PARAGRAPHS[-1]


def test_a_section_of_the_article_headed_with_a_sentence_about_comments_stays():
    section = ("<div class=\"part\"><h3>评论区里大家最关心的三个问题</h3>"
               "<p>上一篇文章发出以后，评论区里问得最多的是探头应该装在哪里，这里统一回答一下。</p></div>")
    text = extract_page(_page(f'<div class="main">{_article(section)}</div>'), URL).text
    assert "评论区里大家最关心的三个问题" in text.split("\n")


@pytest.mark.parametrize("heading", ["回复", "点评"])
def test_a_section_headed_as_a_reply_or_a_commentary_is_the_articles(heading):
    """A 问政 page's official reply (回复) and an editor's commentary (点评) are part of the article."""
    section = (f'<div class="part"><h3>{heading}</h3>'
               "<p>经核实，该仓库的温控探头已于本月移至库区中部，质量部已重新完成温度分布验证并存档备查。</p></div>")
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    box = f'<div class="news_box"><h1>冷链审计笔记</h1><div class="news_text">{paragraphs}</div>{section}</div>'
    assert "经核实，该仓库的温控探头已于本月移至库区中部" in extract_page(_page(box), URL).text


@pytest.mark.parametrize("title", ["冷链审计笔记-行业动态-某某冷链协会", "冷链审计笔记-某某冷链协会"])
def test_a_title_joined_to_its_column_and_site_by_a_bare_hyphen_loses_them(title):
    """Chinese CMS templates write <title> as 标题-栏目-站名 with no spaces around the hyphen."""
    body = f'<table><tr><td class="news_title"><span>冷链审计笔记</span></td></tr><tr><td>{_article(h1="")}</td></tr></table>'
    assert extract_page(_page(body, title=title), URL).title == "冷链审计笔记"


def test_a_hyphen_inside_a_title_stays():
    """A hyphen between Latin letters or digits ("COVID-19", "2024-2025") does not end the title."""
    title = "COVID-19疫苗冷链审计笔记"
    assert extract_page(_page(_article(h1=title), title=title), URL).title == title


def test_a_reprints_edition_line_and_the_sites_copyright_and_service_lines_go_from_the_end():
    """A reprint ends with the paper's edition line, then the portal's spaced-out and English copyright
    lines and its service e-mail; none of them is the article."""
    tail = ("<p>《 某某经济日报 》（ 2024年11月08日 07 版）</p>"
            "<p>某 某 网 版 权 所 有 ，未 经 书 面 授 权 不 得 转 载</p>"
            "<p>Copyright © 2003-2024 www.econ.example All Rights Reserved</p>"
            "<p>经济网读者服务邮箱：service@econ.example</p>")
    text = extract_page(_page(_article(tail)), URL).text
    assert text.split("\n")[-1] == PARAGRAPHS[-1]
    for line in ("某某经济日报", "版 权 所 有", "Copyright", "service@econ.example"):
        assert line not in text


def test_a_sentence_citing_a_paper_with_a_date_stays():
    """Only the whole edition line goes: a sentence that cites a paper and its date is the article's."""
    sentence = "《某某经济日报》（2024年11月08日）报道称，今年华东地区冷库平均利用率已回升到七成左右，这与我们走访看到的情况一致。"
    text = extract_page(_page(_article(f"<p>{sentence}</p>")), URL).text
    assert text.split("\n")[-1] == sentence


def test_a_wire_storys_source_sign_stays():
    """"© Reuters" under a wire story names its source, with no year and no rights reserved."""
    text = extract_page(_page(_article("<p>© 某某社</p><p>© Reuters</p>")), URL).text
    assert text.split("\n")[-1] == "© Reuters"


@pytest.mark.parametrize("credit", ["责任编辑：张三 NF025", "[责编：李四 PSH009]", "（编辑：王五 JN102）"])
def test_an_editor_credit_with_the_portals_staff_code_goes(credit):
    """Portals write their editor's staff code after the name (责任编辑：张三 NF025); the line is a credit."""
    text = extract_page(_page(_article(f"<p>{credit}</p>")), URL).text
    assert text.split("\n")[-1] == PARAGRAPHS[-1]


def test_a_sentence_naming_a_model_code_after_an_editor_stays():
    """Only a credit line with a code goes: a sentence with a code in it is the article's."""
    sentence = "编辑部的同事后来告诉我，那台仓库用的温控探头型号是 TH200，已经停产三年了。"
    text = extract_page(_page(_article(f"<p>{sentence}</p>")), URL).text
    assert text.split("\n")[-1] == sentence


def test_the_date_line_inside_an_h1_after_a_br_is_not_the_title():
    """Old CMS templates put the date, 来源, 评论 and 点击 in the <h1> after a <br>."""
    h1 = '冷链审计笔记<br /><span>2025-03-14 09:30&nbsp;&nbsp;来源：某某冷链网&nbsp;&nbsp;点击：<span>812</span></span>'
    assert extract_page(_page(_article(h1=h1), title="冷链审计笔记 - 行业资讯 - 某某冷链网"), URL).title == "冷链审计笔记"
    # the same even when the page's <title> is the <h1>'s whole text
    whole = "冷链审计笔记 2025-03-14 09:30 来源：某某冷链网 点击：812"
    assert extract_page(_page(_article(h1=h1), title=whole), URL).title == "冷链审计笔记"


def test_a_title_written_on_two_lines_of_an_h1_stays_whole():
    """A <br> inside a title that is not followed by a date line is part of the title."""
    h1 = "冷链审计笔记<br />三家仓库的温控记录"
    title = "冷链审计笔记 三家仓库的温控记录"
    assert extract_page(_page(_article(h1=h1), title=title), URL).title == title


def test_the_headers_byline_player_and_summary_lines_go_but_a_standfirst_stays():
    """A portal's header above the text: the author alone, the source with its time, an audio player's
    line and a labelled summary box (摘要：…) are the site's; an unlabelled standfirst is the article's."""
    standfirst = "三家仓库、三种温控记录，问题都出在原始数据上。"
    body = ('<article class="post"><h1>冷链审计笔记</h1><p class="names">裴思远</p>'
            '<p class="date"><em>冷链手记</em> 2025-03-14 09:30:00</p><p>听全文 AI 朗读 约3分钟</p>'
            '<div class="intro"><p>【内容摘要】温控记录的问题多出在原始数据。</p></div>'
            f'<p>{standfirst}</p>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>')
    head = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",'
            ' "author": {"@type": "Person", "name": "裴思远"}}</script>')
    lines = extract_page(_page(body, head=head), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == [standfirst, *PARAGRAPHS]


@pytest.mark.parametrize("byline", ["第一财经 2025-05-20 19:45:00", "每日经济新闻2025-10-16 21:08:41",
                                    "冷链手记2025年3月14日", "Web3 2025-03-14"])
def test_a_source_and_date_line_above_the_text_goes_with_or_without_a_space(byline):
    body = f'<article class="post"><h1>冷链审计笔记</h1><p>{byline}</p>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>'
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == PARAGRAPHS


def test_a_date_alone_or_a_sentence_ending_in_a_date_is_not_a_byline():
    from crawlers.extraction import _SOURCE_DATELINE

    assert not _SOURCE_DATELINE.match("2025年3月14日")
    assert not _SOURCE_DATELINE.match("12025-03-14")
    assert not _SOURCE_DATELINE.match("本次审计的截止日期为 2025年3月14日，共三家仓库")


@pytest.mark.parametrize("closing", ["<p>举报</p>", "<p>【打印】 【关闭】</p>", "<p>纠错 举报</p>"])
def test_a_line_of_the_pages_buttons_after_the_text_goes(closing):
    text = extract_page(_page(_article(f"<p>责编：王五</p>{closing}")), URL).text
    assert text.split("\n")[-1] == PARAGRAPHS[-1]


@pytest.mark.parametrize("credit", ["e公司记者 王一鸣 发自上海", "（记者 钱雨桐 北京报道）",
                                    "21世纪冷链报道记者 钱雨桐 实习生 孔维东 深圳报道"])
def test_a_reporter_credit_with_the_place_it_was_filed_from_goes(credit):
    body = f'<article class="post"><h1>冷链审计笔记</h1><p>{credit}</p>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>'
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == PARAGRAPHS


@pytest.mark.parametrize("note", [
    "冷链前哨注：本文来源于微信公众号冷链手记（ID：lengchain），作者：老冷，冷链前哨经授权发布。",
    "编者注：本文转载自微信公众号“冷链手记”，已获作者授权。",
    "【编者按】本文经授权转载自“冷链手记”。",
    "（本文转载自微信公众号“冷链手记”，原标题《冷库审计》）",
    "经授权转载自冷链手记公众号。",
    "原文首发于冷链手记。",
])
def test_an_editors_reprint_note_at_either_edge_goes(note):
    """A platform's note about where the text comes from, with an editor's note label or in brackets."""
    for lines in _lines_with_at_either_edge(note):
        assert lines == PARAGRAPHS


@pytest.mark.parametrize("sentence", [
    "本文的数据来源于国家统计局和行业协会的公开报告。",
    "注：文中数据来源于企业年报，经作者整理。",
    "文章来自一位读者的来信，他在冷库干了十年。",
    "经授权发布的数据显示，今年华东冷库的平均利用率回升到了七成左右。",
    "她是一名编辑/记者",
    "冷链日报编辑部 | 2025年3月",
])
def test_a_sentence_or_note_that_mentions_a_source_or_a_role_stays(sentence):
    for lines in _lines_with_at_either_edge(sentence):
        assert sentence in lines


@pytest.mark.parametrize("before, after", [
    ("<p>冷链日报记者 | 钱雨桐</p><p>冷链日报编辑 | 孔维东</p>", ""),
    ("<p>临江融媒记者 丨 顾晓岚&nbsp; 通讯员 丨 方卓</p>", "<p>临江融媒编辑 / 沈乔&nbsp;&nbsp; 审核 / 周立</p>"),
    ("<p>文 | 老冷</p>", "<p>编辑 / 李四</p><p>责编丨王五</p>"),
])
def test_credit_lines_with_a_bar_or_slash_and_the_organ_before_the_role_go(before, after):
    body = f"""<article class="post"><h1>冷链审计笔记</h1>{before}
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}{after}</article>"""
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == PARAGRAPHS


def test_a_notices_contact_line_goes_from_among_its_attachment_and_signature():
    closing = ("<p>联系电话：0571-87051126</p><p>附件：2025年冷库温控抽检名单</p>"
               '<p align="right">临江市市场监督管理局<br />2025年3月14日</p>')
    lines = extract_page(_page(_article(closing)), URL).text.split("\n")
    assert "联系电话：0571-87051126" not in lines
    assert lines[-3:] == ["附件：2025年冷库温控抽检名单", "临江市市场监督管理局", "2025年3月14日"]


def test_a_lead_form_and_its_invitation_go():
    box = ('<div class="lead"><h3>获取方案</h3><p>填写您的信息，顾问将在24小时内回电。</p>'
           '<form action="/lead"><label>姓名 <input name="name"></label><button>提交</button></form></div>')
    text = extract_page(_page(_article(box)), URL).text
    assert "填写您的信息" not in text and text.split("\n")[-1] == PARAGRAPHS[-1]


def test_a_page_wrapped_in_one_form_keeps_its_article():
    """ASP.NET pages put the whole page in one <form>: that form is not a lead form."""
    page = _page(f'<form id="form1" action="/x.aspx"><input type="hidden" name="__VIEWSTATE">'
                 f'<input name="q">{_article()}</form>')
    text = extract_page(page, URL).text
    assert PARAGRAPHS[0] in text and PARAGRAPHS[-1] in text


_MIRROR = """<uni-view class="top"><div class="page-head__title">冷链手记</div></uni-view>
<uni-view class="art-title"><span>{heading}</span></uni-view>
<uni-view class="rich">{paragraphs}</uni-view>
<uni-view class="comment-area"><uni-view class="c-title"><span>精选留言</span></uni-view>
<uni-view class="c-item"><span>老王</span><span class="c-time">2025-06-04</span><p>我们仓库也是这样。</p></uni-view>
<uni-view class="c-item"><span>小陈</span><span class="c-time">2025-06-05</span><p>探头是哪家的？</p></uni-view></uni-view>"""


def test_an_h5_mirrors_heading_is_the_title_and_its_comments_in_custom_elements_go():
    """A 小程序's H5 mirror: <title> is the account's name, shown in its top bar above the heading;
    blocks and comments are custom elements (<uni-view>)."""
    body = _MIRROR.format(heading="三家冷链仓库的温控记录", paragraphs="".join(f"<p>{p}</p>" for p in PARAGRAPHS))
    page = extract_page(_page(body, title="冷链手记"), URL)
    assert page.title == "三家冷链仓库的温控记录"
    assert page.text.split("\n")[-1] == PARAGRAPHS[-1] and "探头是哪家的" not in page.text


def test_a_title_not_shown_above_the_heading_stays_the_title():
    """Only a <title> shown above the heading is taken for a name: here it is the article's own."""
    body = (f'<div class="art-title">冷链审计笔记：三家仓库的温控记录</div><div class="art">'
            f'{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>')
    assert extract_page(_page(body, title="冷链审计笔记"), URL).title == "冷链审计笔记"


def test_repeated_dated_items_made_of_custom_elements_go():
    """An H5 mirror's comments under a neutral name, each a <van-cell> with a time, go like <div> ones."""
    cells = "".join(f'<van-cell class="cell"><span>网友{n}</span><span>{n + 2}天前</span>'
                    f"<p>第{n}条：我们也遇到过除霜期间数据被过滤的问题。</p></van-cell>" for n in range(3))
    text = extract_page(_page(_article(f'<van-list class="list">{cells}</van-list>')), URL).text
    assert "除霜期间数据被过滤的问题。" not in text and text.split("\n")[-1] == PARAGRAPHS[-1]


@pytest.mark.parametrize("closing", ["封面图片来源：每日经济新闻 资料图", "题图来源：视觉中国", "图片来源：受访者供图",
                                     "（头图来源：东方IC）", "消息来源：冷链手记科技", "新闻来源：某某冷链有限公司"])
def test_a_closing_image_credit_or_release_source_line_goes(closing):
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in [*PARAGRAPHS, closing])}</article>'
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == PARAGRAPHS


@pytest.mark.parametrize("sentence", ["图片来源于现场拍摄，数据来源于仓库的温控系统。", "消息来源可靠，但细节还有待核实。"])
def test_a_sentence_about_images_or_sources_stays(sentence):
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in [*PARAGRAPHS, sentence])}</article>'
    assert sentence in extract_page(_page(body), URL).text.split("\n")


EN_PARAGRAPHS = [
    "Cold storage operators in northern Europe say energy bills have fallen from last year's peak but remain well above the levels of five years ago.",
    "Several operators have installed rooftop solar panels and batteries to shift part of their refrigeration load to cheaper hours of the day.",
    "Others are renegotiating long-term power contracts, which many signed when wholesale prices were at record highs two winters ago.",
    "An industry group said it expected more warehouses to add on-site generation next year as connection waiting times shorten in some regions.",
]


def test_a_wire_services_standards_line_goes_and_a_sentence_on_standards_stays():
    kept = "Our standards for temperature logging changed in March, the operator said."
    for closing, expected in (("Our Standards: The Thomson Reuters Trust Principles.", EN_PARAGRAPHS),
                              (kept, [*EN_PARAGRAPHS, kept])):
        body = (f'<article class="story"><h1>Cold storage power bills ease</h1>'
                f'{"".join(f"<p>{p}</p>" for p in [*EN_PARAGRAPHS, closing])}</article>')
        page = extract_page(_page(body, title="Cold storage power bills ease"), "https://news.example/cold-storage/")
        assert [line for line in page.text.split("\n") if line != "Cold storage power bills ease"] == expected


def test_the_posts_h2_is_the_title_when_the_h1_is_the_blogs_name():
    body = (f'<div id="header"><h1><a href="/">老冷的冷链手记</a></h1></div>'
            f'<div class="post"><h2>冷链审计笔记</h2>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>')
    assert extract_page(_page(body, title="冷链审计笔记_老冷的冷链手记_博客"), URL).title == "冷链审计笔记"
    site = '<meta property="og:site_name" content="老冷的冷链手记">'
    assert extract_page(_page(body, title="冷链审计笔记 | 老冷的冷链手记", head=site), URL).title == "冷链审计笔记"


def test_an_h1_that_is_not_the_sites_name_stays_the_title():
    body = (f'<article class="post"><h1>冷链审计笔记</h1><h2>三家仓库的温控记录</h2>'
            f'{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>')
    assert extract_page(_page(body, title="冷链审计笔记 - 老冷的冷链手记"), URL).title == "冷链审计笔记"


@pytest.mark.parametrize("label", ["导语", "【导语】", "导语："])
def test_a_lead_under_a_daoyu_label_above_the_body_is_the_texts_start(label):
    lead = "冷库的温控记录看起来一直正常，审计却总能找出问题，我们走访了三家仓库想弄明白原因。"
    body = (f'<div class="wrap"><h1>冷链审计笔记</h1><div class="lead"><span class="label">{label}</span><p>{lead}</p></div>'
            f'<div id="post_description" class="post-body">{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div></div>')
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == [lead, *PARAGRAPHS]


def test_a_labelled_summary_box_above_the_text_still_goes():
    body = (f'<article class="post"><h1>冷链审计笔记</h1><p>摘要：三家冷链仓库的温控记录问题与审计做法。</p>'
            f'{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>')
    lines = extract_page(_page(body), URL).text.split("\n")
    assert [line for line in lines if line != "冷链审计笔记"] == PARAGRAPHS


def test_nesting_depth_counts_elements_not_void_tags_scripts_or_optional_end_tags():
    from crawlers.extraction import nesting_depth, no_text_reason

    assert nesting_depth("<html><body><div><p>a<p>b<br><img src=x><div/></div></body></html>") == 3
    assert nesting_depth("<script>" + "<div>" * 500 + "</script><!--" + "<div>" * 500 + "--><div></div>") == 1
    deep = "<html><body>" + "<div>" * 300 + "text" + "</div>" * 300 + "</body></html>"
    assert nesting_depth(deep) == 302
    assert no_text_reason(deep).endswith("the page nests elements 302 deep and the HTML parser stops at 256, "
                                         "so the text inside was lost")
    assert no_text_reason("<html><body></body></html>") == "trafilatura found no main text"


def test_a_leading_metadata_table_goes_but_a_record_whose_value_is_the_text_is_the_article():
    """A government notice's 索引号 | 发布机构 | 成文日期 table above the text is metadata; a 市长信箱
    page lays the letter and the official reply out as the values of the same kind of label/value
    table (信件内容 | the letter), and that table is the article."""
    metadata = ('<table class="info"><tr><td>索引号</td><td>113301000024-2025-00031</td><td>发布机构</td>'
                '<td>临江市交通运输局</td></tr><tr><td>成文日期</td><td>2025-03-10</td><td>主题分类</td>'
                '<td>交通运输</td></tr></table>')
    notice = extract_page(_page(f'<div class="content">{metadata}{_article()}</div>'), URL)
    assert "113301000024-2025-00031" not in notice.text and "临江市交通运输局" not in notice.text
    assert PARAGRAPHS[0] in notice.text

    letter = "<br>".join(PARAGRAPHS[:3])
    reply = "<br>".join(PARAGRAPHS[3:])
    record = (f'<table class="letter"><tr><td>信件标题</td><td colspan="3">关于冷库温控记录的咨询</td></tr>'
              f'<tr><td>来信人</td><td>张**</td><td>来信时间</td><td>2025-05-06 09:18</td></tr>'
              f'<tr><td>信件内容</td><td colspan="3">{letter}</td></tr>'
              f'<tr><td>回复单位</td><td>市市场监督管理局</td><td>回复时间</td><td>2025-05-14 11:20</td></tr>'
              f'<tr><td>回复内容</td><td colspan="3">{reply}</td></tr></table>')
    page = extract_page(_page(f'<div class="right-col">{record}</div>', title="关于冷库温控记录的咨询"), URL)
    assert page is not None
    assert PARAGRAPHS[0] in page.text and PARAGRAPHS[-1] in page.text


@pytest.mark.parametrize("line", [
    # a table's or a chart's source note
    "资料来源：公司公告，东岳证券研究所预测",
    "数据来源：国家统计局，Wind",
    # a content platform's counters and edit stamp, pasted with a reposted article
    "312 人赞同了该文章",
    "赞同 312 · 48 条评论",
    "编辑于 2025-07-18 10:22・IP 属地上海",
    "发布于 昨天 18:02 · IP 属地：浙江",
])
def test_a_data_source_note_or_a_platform_counter_line_is_cut_wherever_it_is(line):
    middle = len(PARAGRAPHS) // 2
    for paragraphs in ([line, *PARAGRAPHS], [*PARAGRAPHS[:middle], line, *PARAGRAPHS[middle:]], [*PARAGRAPHS, line]):
        body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in paragraphs)}</article>'
        lines = [text for text in extract_page(_page(body), URL).text.split("\n") if text != "冷链审计笔记"]
        assert lines == PARAGRAPHS


@pytest.mark.parametrize("sentence", [
    "数据来源于国家统计局的季度调查，样本覆盖全国31个省份的冷库。",
    "发布于2025年3月14日的审计结果显示，共有27家仓库参加。",
    "赞同这个做法的仓库经理并不多，多数人担心成本。",
])
def test_a_sentence_that_opens_like_a_source_note_or_a_counter_is_kept(sentence):
    middle = len(PARAGRAPHS) // 2
    paragraphs = [*PARAGRAPHS[:middle], sentence, *PARAGRAPHS[middle:]]
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in paragraphs)}</article>'
    assert sentence in extract_page(_page(body), URL).text.split("\n")


def test_a_headed_fact_box_at_the_end_is_cut_but_label_lines_without_the_heading_stay():
    box = ("<p><strong>【展会信息】</strong></p><p>展会时间：2025年11月12日—14日</p><p>展会地点：珠江国际会展中心南岸馆</p>"
           "<p>展位咨询：李女士 020-8000 6512（工作日 9:00—18:00）</p>"
           '<p class="qr"><img src="/qr.png" alt=""><br>扫码完成观众预登记，免费领取电子门票</p>')
    assert _lines_after(box) == PARAGRAPHS
    lines = _lines_after("<p>审计时间：2025年3月</p><p>审计地点：嘉兴</p>")
    assert "审计时间：2025年3月" in lines and "审计地点：嘉兴" in lines


def test_the_author_s_bio_box_under_a_post_is_cut():
    """(Here trafilatura drops the box by itself too; on the HubSpot page of the realistic set,
    en_hubspot_blog_ai_visual_inspection_stamping_pilot.html, only the container's name does.)"""
    bio = ('<div class="blog-post__author"><div class="blog-post__author-bio"><p>About the author</p>'
           "<p>老冷是一家第三方冷链物流公司的质量经理，做了十二年冷库审计，写过三本冷链操作手册。</p></div></div>")
    body = f'<article class="post"><h1>冷链审计笔记</h1>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}{bio}</article>'
    text = extract_page(_page(body), URL).text
    assert PARAGRAPHS[-1] in text and "About the author" not in text and "质量经理" not in text


def test_a_labelled_time_between_the_kept_headline_and_the_text_is_the_date():
    """The extractor keeps the <h1> as the text's first line; the report's meta row with its
    labelled <time> sits between it and the first paragraph, outside any <header>."""
    body = (f'<div class="main"><div class="report-head"><h1>冷链审计笔记</h1><div class="report-meta">'
            f'<span class="org">江澄冷链协会</span><span class="date">发布日期：<time datetime="2025-03-14">2025-03-14'
            f'</time></span></div></div><div class="abstract">{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div></div>')
    page = extract_page(_page(body), URL)
    assert page.text.split("\n")[0] == "冷链审计笔记"
    assert page.published_at is not None and page.published_at.date().isoformat() == "2025-03-14"


def test_a_blog_s_title_of_its_name_a_colon_and_the_post_s_heading_is_the_post_s():
    """Blogger's <title> and og:title are "Blog: Post"; the post's heading is an <h3 class="post-title">."""
    body = f"""<div class="header"><h1 class="title"><a href="/">老冷的冷链手记</a></h1></div>
<div class="post hentry"><h3 class="post-title entry-title">冷链审计笔记</h3>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>"""
    head = '<meta property="og:title" content="老冷的冷链手记: 冷链审计笔记">'
    assert extract_page(_page(body, title="老冷的冷链手记: 冷链审计笔记", head=head), URL).title == "冷链审计笔记"
    # a title with a colon of its own, and no heading that is its tail, stays whole
    assert extract_page(_page(_article(h1="冷链审计: 三家仓库"), title="冷链审计: 三家仓库"), URL).title == "冷链审计: 三家仓库"


@pytest.mark.parametrize("sentence", [
    "今日天气：晴，冷库外的温度已经到了三十度，装卸口的门帘必须放下。",
    "□ 第一，检查探头位置是否经过质量部审批。",
    "分类：按温区分为冷冻、冷藏和恒温三类，每类的探头密度要求不同。",
])
def test_a_first_sentence_that_opens_like_a_header_line_is_kept(sentence):
    body = f"""<article class="post"><h1>冷链审计笔记</h1><p>{sentence}</p>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>"""
    assert sentence in extract_page(_page(body), URL).text.split("\n")


def _qa_page(first_answer_attrs: str, tag: str = "") -> str:
    answer = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[1:])
    other = "<p>可以看一下探头的型号，老型号在低温下漂移比较大，我们换了新型号之后好了很多，这个也值得排查一下。</p>"
    ai = "<p>温控记录异常可能有以下几个原因，希望以上内容对您有所帮助，如果问题已解决，请点击采纳。</p>"
    return _page(f"""<div class="question-detail"><h1>冷链审计笔记</h1><div class="question-content"><p>{PARAGRAPHS[0]}</p></div></div>
<div class="answer-list"><div class="answer-item ai-answer"><div class="answer-content">{ai}</div></div>
<div {first_answer_attrs}><div class="answer-user"><a class="user-name">老冷</a>{tag}</div><div class="answer-content">{answer}</div></div>
<div class="answer-item"><div class="answer-content">{other}</div></div></div>""")


@pytest.mark.parametrize(("attrs", "tag"), [
    ('class="answer-item accepted"', ""),
    ('class="answer-item"', '<span class="accept-tag">已采纳</span>'),
    ('class="answer-item"', '<span class="best-tag">最佳答案</span>'),
])
def test_a_q_and_a_page_keeps_the_accepted_answer_and_drops_the_others(attrs, tag):
    text = extract_page(_qa_page(attrs, tag), URL).text
    assert PARAGRAPHS[-1] in text
    assert "探头的型号" not in text and "请点击采纳" not in text
    # the same inside a page wrapper named content: only the answer's own text hides a mark
    wrapped = _qa_page(attrs, tag).replace('<div class="question-detail">', '<div class="main-content"><div class="question-detail">')
    text = extract_page(wrapped.replace("</body>", "</div></body>"), URL).text
    assert PARAGRAPHS[-1] in text and "探头的型号" not in text


def test_a_q_and_a_page_that_marks_no_answer_accepted_keeps_its_answers():
    text = extract_page(_qa_page('class="answer-item"'), URL).text
    assert PARAGRAPHS[-1] in text and "探头的型号" in text


def test_a_list_in_a_container_trafilatura_does_not_recognize_is_kept():
    """Without an <article>, <main> or a content class it knows, trafilatura gathers paragraphs and
    drops lists; the text's own container is then read as the article, lists included."""
    steps = ["把校准集增加到五百张，没有明显改善；", "换成另一个校准器，置信度稍微高一点；", "检查了输出节点，确认后处理在引擎外面。"]
    items = "".join(f"<li>{step}</li>" for step in steps)
    body = (f'<div class="ask-left"><div class="question-content md_views"><p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p>'
            f'<p>已经试过的方法：</p><ol>{items}</ol><p>{PARAGRAPHS[2]}</p><p>{PARAGRAPHS[3]}</p></div></div>')
    lines = extract_page(_page(body), URL).text.split("\n")
    assert all(step in lines for step in steps)
    assert lines.index(steps[0]) > lines.index("已经试过的方法：") and PARAGRAPHS[3] in lines


def test_a_procurement_notice_s_summary_table_of_grouped_fields_above_the_text_goes():
    fields = [("采购项目名称", "冷链运输车辆采购项目"), ("品目", "货物/专用车辆/冷藏车"), ("采购单位", "市疾病预防控制中心"),
              ("行政区域", "岚江市"), ("公告时间", "2025年07月14日 16:20"), ("总中标金额", "￥128.6 万元"),
              ("项目联系人", "周敏"), ("项目联系电话", "0797-6221093"), ("采购单位地址", "文昌路56号"),
              ("采购单位联系方式", "黄工 0797-6235147"), ("代理机构名称", "公共资源交易中心")]
    rows = [f'<tr><td class="tl">{label}</td><td colspan="3">{value}</td></tr>' for label, value in fields]
    table = (f'<table class="summary"><tr><td class="title" colspan="4">公告概要：</td></tr>{"".join(rows[:6])}'
             f'<tr><td class="title" colspan="4">联系人及联系方式：</td></tr>{"".join(rows[6:])}</table>')
    text = extract_page(_page(f'<div class="table_summary">{table}</div><div id="zoom">'
                              f'{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div>'), URL).text
    assert "公告概要：" not in text and "采购单位联系方式" not in text and "0797-6235147" not in text
    assert PARAGRAPHS[0] in text and PARAGRAPHS[-1] in text


def test_a_shop_s_product_tiles_after_its_story_are_cut_but_a_priced_sentence_stays():
    tiles = ("<h3>本店热卖</h3><ul><li>阿禾家 猪肉白菜手工水饺 1kg约50只￥39.90月销 1.2万+</li>"
             "<li>阿禾家 荠菜鲜肉大馄饨 600g￥29.90月销 8000+</li></ul>"
             "<p>客服在线时间：9:00-23:00 冷链配送说明：下单后48小时内发货，江浙沪次日达</p>")
    assert _lines_after(tiles) == PARAGRAPHS
    lines = _lines_after("<p>这款水饺每袋售价￥39.90，比去年便宜了两块钱。</p><p>阿禾家 三鲜手工水饺 家庭装2kg￥69.90</p>")
    assert "这款水饺每袋售价￥39.90，比去年便宜了两块钱。" in lines and "阿禾家 三鲜手工水饺 家庭装2kg￥69.90" in lines


def test_a_record_of_fields_after_the_text_goes_with_what_follows_it_unless_prose_follows():
    record = ('<a class="more">更多</a><ul class="info"><li><span>导师：</span><p>顾明远；</p></li><li><span>DOI：</span>'
              '<p>10.27977/d.2025.001284</p></li><li><span>分类号：</span><p>U492.3；F252</p></li>'
              '<li><span>学位年度：</span><p>2025</p></li></ul><h4>参考文献</h4>'
              '<p>[1]汪海川,罗一鸣.考虑温度衰减的生鲜冷链配送路径优化[J].物流技术,2022,41(6):58-63.</p>')
    assert _lines_after(record) == PARAGRAPHS
    # fields in the middle of an article, with its prose after them, stay
    middle = len(PARAGRAPHS) // 2
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:middle]) + record.split("<h4>")[0] + "".join(
        f"<p>{p}</p>" for p in PARAGRAPHS[middle:])
    text = extract_page(_page(f'<article class="post"><h1>冷链审计笔记</h1>{paragraphs}</article>'), URL).text
    assert "10.27977/d.2025.001284" in text and PARAGRAPHS[-1] in text


@pytest.mark.parametrize("line", [
    "温馨提示：本裁判文书仅供参考，以送达当事人的正本为准。",
    "【收听提示】本期节目内容仅代表嘉宾个人观点，不构成任何投资建议。",
    "BGM：Night Shift Loop - 原创配乐",
    # the article's own print edition line
    "（本文刊登于《医药经济周报》2025年7月15日第B3版）",
    # a transcript's note and a "scan to watch the replay" caption
    "（根据现场速记整理，未经演讲者本人审阅）",
    "扫码观看本场论坛完整回放",
    # a credit whose value is an organ and a title, then the name
    "（审核：市疾控中心职业卫生所副主任医师　蒋文涛）",
    # a contact line with a long value
    "咨询电话：市经信局投资与技术改造处　0573-8206 1357（工作日 9:00-12:00，13:30-17:00）",
])
def test_a_closing_disclaimer_note_credit_or_contact_line_is_cut(line):
    assert _lines_with_at_either_edge(line)[1] == PARAGRAPHS


def test_a_labelled_tip_that_is_the_article_s_own_stays():
    line = "温馨提示：办理时请携带营业执照原件和复印件，冷库平面图需加盖公章。"
    for lines in _lines_with_at_either_edge(line):
        assert line in lines


def test_the_headline_block_is_the_title_when_title_is_the_site_s_name_in_its_copyright_line():
    body = f"""<div class="detail-wrap"><div class="render-detail-title">冷链协会发布第一批冷库温控审计结果</div>
<div class="render-detail-content">{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</div></div>
<div class="foot"><p>强学平台 版权所有 京ICP备19008862号-1</p></div>"""
    assert extract_page(_page(body, title="强学平台"), URL).title == "冷链协会发布第一批冷库温控审计结果"


def test_a_sidebar_s_contact_block_above_the_text_goes():
    contact = "<p>地址：澜州市栖桥经济开发区恒锐路8号<br>人力资源部：0571-86539012<br>邮箱：hr@hengrui.example</p>"
    assert _lines_after("", before=contact) == PARAGRAPHS


def test_a_media_account_s_byline_is_cut_wherever_it_is():
    """Under the subtitle and the authors' line, as WeChat-born media print it."""
    byline = "<p>乔言 发自 凹非寺<br>量子位 | 公众号 QbitAI</p>"
    assert _lines_after("", before=f"<p>不上云、不加机房，单张0.8秒出结论</p>{byline}")[1:] == PARAGRAPHS
    # a sentence that names an account stays
    line = "我们在量子位的公众号上看到过这家工厂的报道，于是约了厂长去现场看。"
    assert line in _lines_after(f"<p>{line}</p>")
