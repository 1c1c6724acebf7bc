"""The home, article and search pages and the sitemap: the full-text rule (a crawled article from a
source without full_text_allowed shows its summary, opening paragraph and a link to the original,
on the page, in answers and in reference cards), the 企业文章 label outside sponsored slots, related
articles, search with a count, pages and marked matches, markup in an article shown as text."""
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from contentlib import selectors, services
from contentlib.models import Answer, Article, Question, Source
from recommender.answers.services import answer_for_reader
from tests.contentlib.test_security import inline_code

P1 = "某电商仓库去年引入四十台仓储机器人，专门负责夜间补货和拣货搬运，仓储机器人的回本情况受到关注。"
P2 = "按节省的人工成本测算，这批仓储机器人大约两年半就能回本，订单量大的仓库回本更快。"
P3 = "仓库经理说，机器人回本周期的关键是每天的订单量是否足够多，夜班人工成本也是一个因素。"
LABEL = '<span class="label-enterprise">企业文章</span>'
COLD = ("生物药冷链运输需要全程温控，冷藏车的温度数据实时上传到监控平台。\n"
        "一旦温度超出两到八度的范围，系统会立即通知司机和质量负责人。")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def library(article_factory, editor, django_capture_on_commit_callbacks):
    from ads.models import Advertiser

    crawled = Source.objects.create(name="产业观察网", slug="watch", kind=Source.Kind.SITE)
    robots = article_factory(title="仓储机器人的投资回报", text="\n".join([P1, P2, P3]), source_id=crawled.id,
                             url="https://watch.example/robots")
    cold = article_factory(title="冷链物流的温控方案", text=COLD, source_id=crawled.id)
    owned = article_factory(title="仓储机器人租赁方案介绍", text="\n".join([P1, "租赁按月付费。", "欢迎咨询我们的租赁服务。"]),
                            source_id=crawled.id, canonical_url="https://watch.example/rental")
    services.article_set_owner(article_id=owned.id, owner_id=Advertiser.objects.create(name="锐臂智能装备").id)
    with django_capture_on_commit_callbacks(execute=True):
        for article in (robots, cold, owned):
            services.article_approve(article_id=article.id, actor=editor)
    # No summary: what the page and the answer may show is then the opening paragraph alone.
    Article.objects.filter(id=robots.id).update(summary="")
    return {"source": crawled, "robots": robots, "cold": cold, "owned": owned}


@pytest.mark.django_db(transaction=True)
def test_a_crawled_article_without_the_flag_shows_an_excerpt_and_a_link_to_the_original(library, client, editor):
    robots, owned = library["robots"], library["owned"]

    html = client.get(reverse("site:article_detail", args=[robots.id])).content.decode()
    assert P1 in html and P2 not in html and P3 not in html
    assert "摘录" in html and 'href="https://watch.example/robots"' in html
    member = client  # not even staff or members read past the source's rule
    client.force_login(editor)
    assert P2 not in member.get(reverse("site:article_detail", args=[robots.id])).content.decode()
    client.logout()

    owned_html = client.get(reverse("site:article_detail", args=[owned.id])).content.decode()
    assert "欢迎咨询我们的租赁服务。" in owned_html  # an enterprise's own article is full

    services.source_set_full_text(source_id=library["source"].id, allowed=True)
    assert P3 in client.get(reverse("site:article_detail", args=[robots.id])).content.decode()


@pytest.mark.django_db(transaction=True)
def test_answers_and_reference_cards_quote_only_what_an_anonymous_reader_may_see(library, client):
    question = services.question_get_or_create(text="仓储机器人多久能回本？", language="zh")
    answer = answer_for_reader(question_id=question.id)

    assert answer.cited_article_ids == [library["robots"].id]
    assert "两年半" not in answer.text and P1.split("，")[0] in answer.text  # quoted from the opening paragraph
    page = client.get(reverse("site:question_detail", args=[question.slug])).content.decode()
    assert P2 not in page and "两年半" not in page

    # The source now allows full text: the answer written from the excerpt is stale, and written again.
    services.source_set_full_text(source_id=library["source"].id, allowed=True)
    assert Answer.objects.get(id=answer.id).status == Answer.Status.STALE
    again = answer_for_reader(question_id=question.id)
    assert again.id != answer.id and "两年半" in again.text


@pytest.mark.django_db(transaction=True)
def test_an_enterprise_article_is_labelled_with_its_company_outside_sponsored_slots(library, client):
    owned = library["owned"]
    pages = {
        "home": client.get(reverse("site:home")).content.decode(),
        "list": client.get(reverse("site:article_list")).content.decode(),
        "search": re.sub(r"</?mark>", "", client.get(reverse("site:search"), {"q": "仓储机器人租赁"}).content.decode()),
        "article": client.get(reverse("site:article_detail", args=[owned.id])).content.decode(),
    }
    for where, html in pages.items():
        assert owned.title in html, where
        assert LABEL in html and "锐臂智能装备" in html, where
    organic = client.get(reverse("site:article_detail", args=[library["cold"].id])).content.decode()
    assert LABEL not in organic.split('id="related-heading"')[0]


@pytest.mark.django_db(transaction=True)
def test_related_articles_are_ranked_by_content_similarity(library, client):
    robots, owned, cold = library["robots"], library["owned"], library["cold"]

    ranked = selectors.articles_similar(article_id=robots.id, min_score=-1)

    assert [i for i, _ in ranked] == [owned.id, cold.id] and ranked[0][1] > ranked[1][1]
    html = client.get(reverse("site:article_detail", args=[robots.id])).content.decode()
    related = html.split('id="related-heading"', 1)[1]
    assert owned.title in related and LABEL in related  # labelled in the related list too


@pytest.mark.django_db(transaction=True)
def test_search_counts_pages_and_marks_matches(article_factory, editor, client, django_capture_on_commit_callbacks):
    articles = [article_factory(title=f"冷链温控方案第{n}篇", text=f"冷链运输的温控，第{n}篇案例：冷藏车温度实时上传。" * 3)
                for n in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        for article in articles:
            services.article_approve(article_id=article.id, actor=editor)

    first = client.get(reverse("site:search"), {"q": "冷链温控"}).content.decode()
    second = client.get(reverse("site:search"), {"q": "冷链温控", "page": 2}).content.decode()

    assert "共有 12 篇文章与“冷链温控”相符" in first or "12 篇文章" in first
    assert first.count('<article class="item">') == 10 and second.count('<article class="item">') == 2
    assert "第 1 / 2 页" in first and 'rel="next"' in first and 'rel="prev"' in second
    assert "<mark>冷链</mark>" in first and "<mark>温控</mark>" in first
    english = client.get(reverse("site:search"), {"q": "冷链温控"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "12 articles fit “冷链温控”." in english and "Page 1 of 2" in english


@pytest.mark.django_db(transaction=True)
def test_markup_in_an_article_is_shown_as_text_on_every_page(article_factory, editor, client,
                                                           django_capture_on_commit_callbacks):
    hostile = article_factory(title='冷链温控<script>alert(1)</script>方案',
                              text='冷链温控的做法<img src=x onerror=alert(2)>。\n冷藏车温度实时上传<svg onload=alert(3)>。')
    with django_capture_on_commit_callbacks(execute=True):
        services.article_approve(article_id=hostile.id, actor=editor)
    question = services.question_get_or_create(text="冷链温控怎么做？", language="zh")
    answer_for_reader(question_id=question.id)
    Question.objects.filter(id=question.id).update(status=Question.Status.PUBLISHED)

    pages = [client.get(url).content.decode() for url in (
        reverse("site:home"), reverse("site:article_detail", args=[hostile.id]),
        reverse("site:search") + "?q=冷链温控", reverse("site:question_detail", args=[question.slug]))]
    for html in pages:
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<svg onload" not in html
        assert inline_code(html) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]


@pytest.mark.django_db(transaction=True)
def test_the_home_page_lists_recent_and_popular_questions_and_an_ask_box(library, client):
    for text in ("仓储机器人多久能回本？", "冷链运输的温度怎么监控？", "仓储机器人多久能回本"):
        question = services.question_get_or_create(text=text, language="zh")
        answer_for_reader(question_id=question.id)
    pending = services.question_get_or_create(text="量子计算芯片的低温制冷机怎么选？", language="zh")
    answer_for_reader(question_id=pending.id)  # "no answer": never listed

    html = client.get(reverse("site:home")).content.decode()

    recent = html.split('id="recent-heading"')[1].split("</section>")[0]
    popular = html.split('id="popular-heading"')[1].split("</section>")[0]
    assert "仓储机器人多久能回本？" in recent and "冷链运输的温度怎么监控？" in recent and pending.text not in html
    assert popular.index("仓储机器人多久能回本？") < popular.index("冷链运输的温度怎么监控？")  # asked twice
    assert "问了 2 次" in popular
    assert f'action="{reverse("site:ask")}"' in html and 'name="q"' in html


@pytest.mark.django_db(transaction=True)
def test_the_sitemap_lists_published_questions_and_articles_only(library, client, article_factory):
    public = services.question_get_or_create(text="仓储机器人多久能回本？", language="zh")
    answer_for_reader(question_id=public.id)
    sensitive = services.question_get_or_create(text="仓储机器人多久能回本，能用赌博的钱买吗", language="zh")
    answer_for_reader(question_id=sensitive.id)
    pending_article = article_factory(title="待审核的文章")

    xml = client.get("/sitemap.xml").content.decode()

    question_url = reverse("site:question_detail", args=[public.slug])  # percent-encoded, as in the sitemap
    assert f"http://testserver{question_url}" in xml
    assert reverse("site:question_detail", args=[sensitive.slug]) not in xml
    assert f"/articles/{library['robots'].id}/" in xml and f"/articles/{pending_article.id}/" not in xml
    assert "Sitemap: http://testserver/sitemap.xml" in client.get("/robots.txt").content.decode()


@pytest.mark.django_db(transaction=True)
def test_answers_written_before_the_rule_are_written_again(library):
    """Migration 0012's step: every current answer that cites something is stale, so the next ask
    writes it from what readers may see; a "no answer" and an editor's hidden answer stay."""
    import importlib

    from django.apps import apps

    step = importlib.import_module("contentlib.migrations.0012_source_full_text_allowed")
    cited = answer_for_reader(question_id=services.question_get_or_create(text="仓储机器人多久能回本？").id)
    nothing = answer_for_reader(question_id=services.question_get_or_create(text="量子计算芯片的低温制冷机怎么选？").id)
    hidden = answer_for_reader(question_id=services.question_get_or_create(text="生物药冷链运输怎么做温控？").id)
    services.answer_hide(answer_id=hidden.id)

    step.answers_written_before_the_rule_are_stale(apps, None)

    statuses = dict(Answer.objects.values_list("id", "status"))
    assert cited.cited_article_ids and statuses[cited.id] == Answer.Status.STALE
    assert statuses[nothing.id] == Answer.Status.CURRENT and statuses[hidden.id] == Answer.Status.HIDDEN


@pytest.mark.django_db(transaction=True)
def test_an_excerpts_summary_never_quotes_the_part_not_shown(library, client):
    """A short article's extractive summary would be the whole text: it keeps only what is shown."""
    Article.objects.filter(id=library["robots"].id).update(summary=P1 + P2)
    robots = Article.objects.select_related("source").get(id=library["robots"].id)

    visible = selectors.article_visible_text(robots, user=None)

    assert visible.excerpt and P2 not in visible.summary and P1 in visible.summary
    html = client.get(reverse("site:article_detail", args=[robots.id])).content.decode()
    assert P2 not in html and P2 not in client.get(reverse("site:home")).content.decode()
