"""The premium wall on every reader surface that exists: the article page, the home page's list,
search results, a question page's answer and reference cards, the recommendations API (which the
widget shows) and the sitemap, for a logged-out reader, a lapsed member and a member. What is behind the wall never
reaches a reader who may not read it; `contentlib.selectors.article_visible_text` is the one rule."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contentlib import selectors, services
from contentlib.models import Article, Membership

OPEN = ["一、市场概况：二〇二六年冷链物流市场规模继续扩大，公开段落甲。",
        "二、竞争格局：头部企业加快并购，区域企业专注细分市场，公开段落乙。"]
CLOSED = [f"{n}、付费结论{n}：机密数据{n}号，仅限会员阅读，冷链物流行业的详细测算。" for n in "三四五六"]
TEXT = "\n".join(OPEN + CLOSED)


@pytest.fixture
def premium(article_factory, editor, django_capture_on_commit_callbacks):
    article = article_factory(title="冷链物流深度报告：二〇二六年市场分析", text=TEXT,
                              canonical_url="https://reports.example.com/cold-chain-2026")
    with django_capture_on_commit_callbacks(execute=True):
        services.article_approve(article_id=article.id, actor=editor)
    services.article_set_premium(article_id=article.id, premium=True, actor=editor)
    Article.objects.filter(id=article.id).update(summary="")  # the snippet falls back to the text
    return Article.objects.get(id=article.id)


def _reader(name: str, *, member_until=None) -> Client:
    user = get_user_model().objects.create_user(username=f"{name}@example.com", email=f"{name}@example.com",
                                                password="pw-for-tests-only")
    if member_until is not None:
        Membership.objects.create(user=user, until=member_until, plan_slug="monthly")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def readers(db):
    now = timezone.now()
    return {
        "logged-out": Client(),
        "lapsed member": _reader("lapsed", member_until=now - timedelta(minutes=1)),
        "member": _reader("member", member_until=now + timedelta(days=3)),
    }


def _question_page(client) -> str:
    """A reader's question whose answer cites the premium article: answers are one page for everyone,
    so they quote only what a logged-out reader may read, members included."""
    from recommender.answers.services import answer_for_reader  # noqa: PLC0415

    question = services.question_get_or_create(text="冷链物流市场规模和竞争格局怎么样？", language="zh")
    answer_for_reader(question_id=question.id)
    question.refresh_from_db()
    response = client.get(reverse("site:question_detail", args=[question.slug]))
    assert response.status_code == 200, "the question should be public: its answer cites the report"
    return response.content.decode()


def surfaces(client, article):
    api = client.get("/api/v1/recommendations", {"q": "冷链物流深度报告", "answer": "冷链物流市场规模继续扩大"})
    assert api.status_code == 200 and str(article.id) in api.content.decode()
    return {
        "question page (answer and reference card)": _question_page(client),
        "recommendations API": api.content.decode(),

        "article page": client.get(reverse("site:article_detail", args=[article.id])).content.decode(),
        "home page list": client.get(reverse("site:article_list")).content.decode(),
        # Search marks the query's words (<mark>); the text around them is what counts here.
        "search results": re.sub(r"</?mark>", "", client.get(reverse("site:search"), {"q": "冷链物流深度报告"})
                                 .content.decode()),
    }


@pytest.mark.parametrize("who", ["logged-out", "lapsed member"])
def test_non_members_never_see_what_is_behind_the_wall(premium, readers, who):
    pages = surfaces(readers[who], premium)
    for surface, html in pages.items():
        assert premium.title in html, surface
        for paragraph in CLOSED:
            assert paragraph[:8] not in html, (surface, paragraph)
            assert "机密数据" not in html, surface
    assert all(p in pages["article page"] for p in OPEN)  # the first paragraphs are for everyone
    sitemap = readers[who].get("/sitemap.xml").content.decode()  # what a crawler fetches: its URL, no text
    assert f"/articles/{premium.id}/" in sitemap and "机密数据" not in sitemap
    assert "完整报告需订阅VIP会员" in pages["article page"]
    assert 'href="/vip/?next=' in pages["article page"]


def test_members_read_the_full_text(premium, readers):
    pages = surfaces(readers["member"], premium)
    assert all(p in pages["article page"] for p in OPEN + CLOSED)
    assert "完整报告需订阅VIP会员" not in pages["article page"]
    # Answers and the API (the widget's source) are one response for everyone: never the hidden part.
    for shared in ("question page (answer and reference card)", "recommendations API"):
        assert "机密数据" not in pages[shared], shared


def test_the_wall_speaks_english_to_an_english_browser(premium):
    page = Client().get(reverse("site:article_detail", args=[premium.id]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The full report is for VIP members" in page and "Subscribe to VIP" in page
    assert "完整报告需订阅VIP会员" not in page


def test_a_summary_is_shown_to_everyone_but_never_the_hidden_text(premium, readers):
    Article.objects.filter(id=premium.id).update(summary="报告摘要：冷链市场规模扩大，并购加快。")
    for surface, html in surfaces(readers["logged-out"], premium).items():
        assert "机密数据" not in html, surface
    assert "报告摘要" in surfaces(readers["logged-out"], premium)["home page list"]


def test_an_article_that_is_not_premium_is_open_to_everyone(premium, editor):
    services.article_set_premium(article_id=premium.id, premium=False, actor=editor)
    page = Client().get(reverse("site:article_detail", args=[premium.id])).content.decode()
    assert all(p in page for p in CLOSED) and "完整报告需订阅VIP会员" not in page


class TestVisibleText:
    """The core function every surface (and later the Q&A pages, answers, widget, API, sitemap) calls."""

    def article(self, paragraphs: int, premium: bool = True) -> Article:
        return Article(title="标题", summary="摘要", text="\n".join(f"第{n}段" for n in range(paragraphs)),
                       premium=premium)

    def test_non_members_get_at_most_a_third_of_the_paragraphs(self, settings):
        settings.PREMIUM_PREVIEW_PARAGRAPHS = 2
        assert selectors.article_visible_text(self.article(9)).paragraphs == ["第0段", "第1段"]
        assert selectors.article_visible_text(self.article(3)).paragraphs == ["第0段"]
        assert selectors.article_visible_text(self.article(2)).paragraphs == []
        visible = selectors.article_visible_text(self.article(9))
        assert not visible.full and visible.title == "标题" and visible.summary == "摘要"

    def test_members_and_staff_get_everything(self, db, editor):
        member = get_user_model().objects.create_user(username="m", password="pw-for-tests-only")
        Membership.objects.create(user=member, until=timezone.now() + timedelta(hours=1), plan_slug="monthly")
        for user in (member, editor):
            visible = selectors.article_visible_text(self.article(9), user=user)
            assert visible.full and len(visible.paragraphs) == 9

    def test_a_membership_ends_at_its_end(self, db):
        member = get_user_model().objects.create_user(username="m", password="pw-for-tests-only")
        Membership.objects.create(user=member, until=timezone.now() - timedelta(seconds=1), plan_slug="monthly")
        assert not selectors.article_visible_text(self.article(9), user=member).full

    def test_the_snippet_quotes_only_the_visible_text(self):
        article = self.article(9)
        article.summary = ""
        assert selectors.article_visible_text(article).snippet() == "第0段\n第1段"


def test_an_extractive_summary_never_quotes_the_hidden_text(premium, readers):
    """The enrichment's summary is made of the article's own sentences, and may pick a paid one."""
    Article.objects.filter(id=premium.id).update(summary="二、竞争格局：头部企业加快并购，区域企业专注细分市场，公开段落乙。"
                                                 + CLOSED[1] + CLOSED[2][:12] + "…")
    for who in ("logged-out", "lapsed member"):
        for surface, html in surfaces(readers[who], premium).items():
            assert "机密数据" not in html, (who, surface)
            assert "公开段落乙" in html, (who, surface)
    assert "机密数据四号" in surfaces(readers["member"], premium)["home page list"]


def test_summary_without_hidden_keeps_what_is_not_quoted():
    hidden = "付费结论：冷库空置率降至百分之八。建议关注多温区企业。"
    assert selectors.summary_without_hidden("冷链市场扩大。冷库空置率降至百分之八。建议关注多温", hidden) == "冷链市场扩大。"
    assert selectors.summary_without_hidden("An open summary. Another one.", hidden) == "An open summary. Another one."
