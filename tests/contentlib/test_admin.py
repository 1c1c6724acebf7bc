"""Editors moderate in admin through the test client; analysts read but cannot decide."""
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from contentlib.models import Article, ArticleKeyword, Keyword, ModerationEvent

CHANGELIST = reverse("admin:contentlib_article_changelist")


def action(client, name, articles, **extra):
    data = {"action": name, ACTION_CHECKBOX_NAME: [a.id for a in articles], **extra}
    return client.post(CHANGELIST, data, follow=True)


@pytest.mark.django_db
class TestEditorModeration:
    def test_queue_lists_pending_first(self, client, editor, article_factory):
        approved = article_factory(title="已经发布的文章")
        from contentlib import services
        services.article_approve(article_id=approved.id, actor=editor)
        pending = article_factory(title="等待审核的文章")
        client.force_login(editor)
        page = client.get(CHANGELIST)
        assert page.status_code == 200
        ids = [row.id for row in page.context["cl"].result_list]
        assert ids.index(pending.id) < ids.index(approved.id)

    def test_filters_and_search(self, client, editor, article_factory):
        article_factory(title="港口集装箱吞吐量", language="zh")
        article_factory(title="Warehouse robots pay back", text="Robots in the warehouse paid back in 18 months. " * 5,
                        language="en")
        client.force_login(editor)
        assert [a.title for a in client.get(CHANGELIST, {"language": "en"}).context["cl"].result_list] == [
            "Warehouse robots pay back"]
        assert [a.title for a in client.get(CHANGELIST, {"q": "集装箱"}).context["cl"].result_list] == ["港口集装箱吞吐量"]
        assert client.get(CHANGELIST, {"status__exact": "pending", "origin__exact": "crawled"}).status_code == 200

    def test_bulk_approve(self, client, editor, article_factory):
        articles = [article_factory(), article_factory()]
        client.force_login(editor)
        response = action(client, "approve_selected", articles)
        assert "已通过 2 篇文章。" in response.content.decode()  # the admin speaks Chinese by default
        assert set(Article.objects.values_list("status", flat=True)) == {"approved"}
        assert ModerationEvent.objects.filter(actor=editor, action="approve").count() == 2

    def test_bulk_reject_asks_for_a_reason_first(self, client, editor, article_factory):
        articles = [article_factory(), article_factory()]
        client.force_login(editor)
        form_page = action(client, "reject_selected", articles)
        assert "必须填写理由" in form_page.content.decode()
        assert set(Article.objects.values_list("status", flat=True)) == {"pending"}

        empty = action(client, "reject_selected", articles, apply="Reject", reason="  ")
        assert "reason" in empty.context["form"].errors
        assert set(Article.objects.values_list("status", flat=True)) == {"pending"}

        done = action(client, "reject_selected", articles, apply="Reject", reason="内容与行业无关")
        assert "已驳回 2 篇文章。" in done.content.decode()
        assert set(Article.objects.values_list("rejection_reason", flat=True)) == {"内容与行业无关"}

    def test_change_page_shows_preview_keywords_summary_and_history(self, client, editor, article_factory):
        article = article_factory(text="第一段讲冷库。\n第二段讲干线运输。")
        Article.objects.filter(id=article.id).update(summary="一句话摘要：冷库与干线。")
        ArticleKeyword.objects.filter(article=article).delete()  # replace what enrichment found
        ArticleKeyword.objects.create(article=article, keyword=Keyword.objects.get_or_create(text="冷库")[0],
                                      weight=0.8, rank=1, method="tfidf")
        from contentlib import services
        services.article_reject(article_id=article.id, actor=editor, reason="重复投稿")
        client.force_login(editor)
        html = client.get(reverse("admin:contentlib_article_change", args=[article.id])).content.decode()
        assert "<p>第一段讲冷库。</p><p>第二段讲干线运输。</p>" in html
        assert "一句话摘要：冷库与干线。" in html
        assert "冷库 <small>(0.80)</small>" in html
        assert "重复投稿" in html and "审核历史" in html

    def test_preview_escapes_markup_in_text(self, client, editor, article_factory):
        article = article_factory(text="<script>alert(1)</script> 正文内容足够长。")
        client.force_login(editor)
        html = client.get(reverse("admin:contentlib_article_change", args=[article.id])).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_editor_sets_category_and_it_sticks(self, client, editor, article_factory):
        from contentlib.models import Category

        category = Category.objects.create(slug="finance", name="金融")
        article = article_factory()
        client.force_login(editor)
        client.post(reverse("admin:contentlib_article_change", args=[article.id]), {
            "category": category.id,
            "moderationevent_set-TOTAL_FORMS": "0", "moderationevent_set-INITIAL_FORMS": "0",
            "moderation_events-TOTAL_FORMS": "0", "moderation_events-INITIAL_FORMS": "0",
            "revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0",
        })
        article.refresh_from_db()
        assert article.category == category and article.category_locked


@pytest.mark.django_db
class TestAnalyst:
    def test_analyst_reads_the_queue_but_has_no_moderation_actions(self, client, analyst, article_factory):
        article_factory()
        client.force_login(analyst)
        page = client.get(CHANGELIST)
        assert page.status_code == 200
        actions = [name for name, _ in page.context["cl"].model_admin.get_action_choices(page.wsgi_request)]
        assert "approve_selected" not in actions and "reject_selected" not in actions

    def test_analyst_posting_an_action_changes_nothing(self, client, analyst, article_factory):
        article = article_factory()
        client.force_login(analyst)
        action(client, "approve_selected", [article])
        article.refresh_from_db()
        assert article.status == Article.Status.PENDING
        assert not ModerationEvent.objects.exists()

    def test_analyst_cannot_change_an_article(self, client, analyst, article_factory):
        article = article_factory()
        client.force_login(analyst)
        response = client.post(reverse("admin:contentlib_article_change", args=[article.id]), {"category": ""})
        assert response.status_code == 403

    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(CHANGELIST)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
class TestRevisionsInAdmin:
    TEXT = "第一段：冷库温控数据实时上传。\n第二段：干线运输按时到达。"

    def _pending(self, editor, article_factory):
        from contentlib import services

        article = article_factory(text=self.TEXT, canonical_url="https://news.example.com/r")
        services.article_approve(article_id=article.id, actor=editor)
        result = services.article_upsert(
            title=article.title, text=self.TEXT.replace("按时到达", "<b>延误两天</b>"), origin="crawled",
            canonical_url="https://news.example.com/r", proposed_by="crawl of news")
        return article, result.revision

    def test_revision_page_shows_an_escaped_diff(self, client, editor, article_factory):
        article, revision = self._pending(editor, article_factory)
        client.force_login(editor)
        html = client.get(reverse("admin:contentlib_articlerevision_change", args=[revision.id])).content.decode()
        assert '<table class="diff"' in html
        assert "&lt;b&gt;延误两天&lt;/b&gt;" in html and "<b>延误两天</b>" not in html
        assert reverse("admin:contentlib_articlerevision_approve", args=[revision.id]) in html
        article_page = client.get(reverse("admin:contentlib_article_change", args=[article.id])).content.decode()
        assert reverse("admin:contentlib_articlerevision_change", args=[revision.id]) in article_page

    def test_approving_from_the_revision_page_publishes_the_change(self, client, editor, article_factory):
        article, revision = self._pending(editor, article_factory)
        client.force_login(editor)
        response = client.post(reverse("admin:contentlib_articlerevision_approve", args=[revision.id]))
        assert response.status_code == 302
        article.refresh_from_db()
        assert "延误两天" in article.text

    def test_rejecting_a_revision_needs_a_reason(self, client, editor, article_factory):
        article, revision = self._pending(editor, article_factory)
        client.force_login(editor)
        client.post(reverse("admin:contentlib_articlerevision_reject", args=[revision.id]), {"reason": ""})
        revision.refresh_from_db()
        assert revision.status == "pending"
        client.post(reverse("admin:contentlib_articlerevision_reject", args=[revision.id]), {"reason": "夸大其词"})
        revision.refresh_from_db()
        assert revision.status == "rejected" and revision.reason == "夸大其词"
        article.refresh_from_db()
        assert "延误两天" not in article.text

    def test_an_analyst_sees_the_diff_but_cannot_decide(self, client, editor, analyst, article_factory):
        article, revision = self._pending(editor, article_factory)
        client.force_login(analyst)
        page = client.get(reverse("admin:contentlib_articlerevision_change", args=[revision.id]))
        assert page.status_code == 200
        assert reverse("admin:contentlib_articlerevision_approve", args=[revision.id]) not in page.content.decode()
        response = client.post(reverse("admin:contentlib_articlerevision_approve", args=[revision.id]))
        assert response.status_code == 403
        revision.refresh_from_db()
        assert revision.status == "pending"


@pytest.mark.django_db
class TestChangePageDecisions:
    """Approve and Reject-with-reason on an article's own page, beside its text."""

    def test_the_page_has_both_buttons_for_an_editor(self, client, editor, article_factory):
        article = article_factory()
        client.force_login(editor)
        html = client.get(reverse("admin:contentlib_article_change", args=[article.id])).content.decode()
        assert f'action="{reverse("admin:contentlib_article_approve", args=[article.id])}"' in html
        assert f'action="{reverse("admin:contentlib_article_reject", args=[article.id])}"' in html
        assert 'name="reason"' in html and "按此理由驳回" in html

    def test_approve_from_the_change_page(self, client, editor, article_factory):
        article = article_factory()
        client.force_login(editor)
        response = client.post(reverse("admin:contentlib_article_approve", args=[article.id]), follow=True)
        article.refresh_from_db()
        assert article.status == Article.Status.APPROVED
        assert ModerationEvent.objects.get(article=article).actor == editor
        assert f"已通过《{article.title}》。" in response.content.decode()
        # Approved now: the page offers Reject only.
        assert reverse("admin:contentlib_article_approve", args=[article.id]) not in response.content.decode()

    def test_reject_from_the_change_page_needs_a_reason(self, client, editor, article_factory):
        article = article_factory()
        client.force_login(editor)
        empty = client.post(reverse("admin:contentlib_article_reject", args=[article.id]), {"reason": " "},
                            follow=True)
        article.refresh_from_db()
        assert article.status == Article.Status.PENDING and "驳回需要理由" in empty.content.decode()
        client.post(reverse("admin:contentlib_article_reject", args=[article.id]), {"reason": "软文广告"})
        article.refresh_from_db()
        assert article.status == Article.Status.REJECTED and article.rejection_reason == "软文广告"

    def test_buttons_answer_post_only(self, client, editor, article_factory):
        article = article_factory()
        client.force_login(editor)
        assert client.get(reverse("admin:contentlib_article_approve", args=[article.id])).status_code == 405
        article.refresh_from_db()
        assert article.status == Article.Status.PENDING

    def test_an_analyst_gets_no_buttons_and_a_403(self, client, analyst, article_factory):
        article = article_factory()
        client.force_login(analyst)
        html = client.get(reverse("admin:contentlib_article_change", args=[article.id])).content.decode()
        assert reverse("admin:contentlib_article_approve", args=[article.id]) not in html
        assert client.post(reverse("admin:contentlib_article_approve", args=[article.id])).status_code == 403


@pytest.mark.django_db
class TestEditorsSeeCrawlRecords:
    def test_crawl_runs_and_pages_are_readable_but_not_changeable(self, client, editor):
        from contentlib.models import Source
        from crawlers.models import CrawlPage, CrawlRun

        source = Source.objects.create(name="站点", slug="s", kind=Source.Kind.SITE)
        run = CrawlRun.objects.create(source=source, counts={"saved": 1})
        page = CrawlPage.objects.create(run=run, url="https://a.example/x", outcome=CrawlPage.Outcome.REDIRECT_LOOP,
                                        redirect_chain=["https://a.example/x", "https://a.example/x"])
        client.force_login(editor)
        for url in (reverse("admin:crawlers_crawlrun_changelist"), reverse("admin:crawlers_crawlrun_change", args=[run.id]),
                    reverse("admin:crawlers_crawlpage_changelist"),
                    reverse("admin:crawlers_crawlpage_change", args=[page.id])):
            response = client.get(url)
            assert response.status_code == 200, url
        page_html = client.get(reverse("admin:crawlers_crawlpage_change", args=[page.id])).content.decode()
        assert "https://a.example/x → https://a.example/x" in page_html and "重定向循环" in page_html
        assert 'name="_save"' not in page_html  # read-only
        assert client.post(reverse("admin:crawlers_crawlrun_change", args=[run.id]), {}).status_code == 403

    def test_the_demo_editor_has_the_editors_permissions(self, db):
        from contentlib import demo

        demo.demo_users_ensure()
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username="demo-editor")
        for permission in ("crawlers.view_crawlrun", "crawlers.view_crawlpage", "contentlib.view_articlerevision",
                           "contentlib.moderate_article", "contentlib.view_article"):
            assert user.has_perm(permission), permission
        assert not user.has_perm("crawlers.change_crawlrun")
