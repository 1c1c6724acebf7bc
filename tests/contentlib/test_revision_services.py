"""A change to an approved article waits as a revision: the published content, the owner and the
search index stay as they are until an editor (or the system, for a trusted source) approves it."""
import threading

import pytest
from django.utils import translation
from django.db import connection

from ads.models import Advertiser
from contentlib import services
from contentlib.errors import ApplicationError
from contentlib.models import Article, ArticleRevision, ModerationEvent

URL = "https://news.example.com/cold-chain"
TEXT = "冷链物流企业正在把温控数据接入运输管理系统，疫苗和生鲜在途温度全程可追溯。" * 4
CHANGED = TEXT + "新增：某平台声称其冷库容量全国第一，请致电购买。"


@pytest.fixture(autouse=True)
def _english_messages():
    """The services' messages are read in English here (the admin shows them in the editor's language:
    tests/contentlib/test_translations.py)."""
    with translation.override("en"):
        yield


def crawl(text=TEXT, **overrides):
    fields = {"title": "冷链物流的数字化", "text": text, "origin": Article.Origin.CRAWLED, "canonical_url": URL,
              "proposed_by": "crawl of news"}
    fields.update(overrides)
    return services.article_upsert(**fields)


@pytest.fixture
def published(db, editor, django_capture_on_commit_callbacks):
    """An approved, enriched crawled article that an advertiser paid for."""
    owner = Advertiser.objects.create(name="冷链科技有限公司")
    with django_capture_on_commit_callbacks(execute=True):
        article = crawl().article
        services.article_set_owner(article_id=article.id, owner_id=owner.id)
        services.article_approve(article_id=article.id, actor=editor)
    article.refresh_from_db()
    assert article.enrichment_status == Article.Enrichment.DONE
    return article


@pytest.fixture
def published_unowned(db, editor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = crawl().article
        services.article_approve(article_id=article.id, actor=editor)
    article.refresh_from_db()
    return article


class TestRecrawlOfAnApprovedArticle:
    def test_keeps_the_published_text_and_waits_as_a_revision(self, published_unowned,
                                                              django_capture_on_commit_callbacks):
        before = Article.objects.get(id=published_unowned.id)
        with django_capture_on_commit_callbacks(execute=False) as queued:
            result = crawl(CHANGED)
        after = Article.objects.get(id=published_unowned.id)
        assert result.outcome == "revised"
        assert after.text == TEXT and after.content_hash == before.content_hash
        assert after.status == Article.Status.APPROVED and after.is_published
        assert after.enrichment_status == Article.Enrichment.DONE and after.tokens == before.tokens
        assert after.updated_at == before.updated_at
        assert queued == [], "neither enrichment nor the index is asked to look at the unapproved text"
        revision = ArticleRevision.objects.get()
        assert revision.status == ArticleRevision.Status.PENDING
        assert revision.text == CHANGED and revision.base_text == TEXT
        assert revision.proposed_by == "crawl of news"
        assert not ModerationEvent.objects.filter(revision=revision).exists()

    def test_the_same_change_again_is_unchanged_and_adds_no_revision(self, published_unowned):
        first = crawl(CHANGED)
        again = crawl(CHANGED)
        assert again.outcome == "unchanged" and again.revision == first.revision
        assert ArticleRevision.objects.count() == 1

    def test_a_newer_change_supersedes_the_waiting_one(self, published_unowned):
        first = crawl(CHANGED).revision
        second = crawl(CHANGED + "再次修改。").revision
        first.refresh_from_db()
        assert first.status == ArticleRevision.Status.SUPERSEDED
        assert second.status == ArticleRevision.Status.PENDING
        assert ArticleRevision.objects.filter(status="pending").get() == second

    def test_a_crawl_never_changes_an_owned_article(self, published):
        with pytest.raises(ApplicationError) as refused:
            crawl(CHANGED)
        assert refused.value.extra["code"] == "protected"
        article = Article.objects.get(id=published.id)
        assert article.text == TEXT and article.owner.name == "冷链科技有限公司"
        assert not ArticleRevision.objects.exists()

    def test_a_crawl_never_changes_a_submitted_article(self, db):
        submitted = services.article_upsert(title="企业稿件", text=TEXT, origin=Article.Origin.SUBMITTED,
                                            canonical_url=URL).article
        with pytest.raises(ApplicationError, match="submitted by an enterprise"):
            crawl(CHANGED)
        assert Article.objects.get(id=submitted.id).text == TEXT

    def test_batch_upsert_returns_the_refusal_and_saves_the_others(self, published):
        results = services.articles_upsert(articles=[
            {"title": "冷链物流的数字化", "text": CHANGED, "origin": "crawled", "canonical_url": URL},
            {"title": "另一篇", "text": TEXT + "另一篇。", "origin": "crawled", "canonical_url": URL + "/2"},
        ])
        assert isinstance(results[0], ApplicationError) and results[0].extra["code"] == "protected"
        assert results[1].outcome == "created"
        assert Article.objects.get(id=published.id).owner_id is not None

    def test_batch_upsert_of_an_approved_article_makes_a_revision(self, published_unowned):
        [result] = services.articles_upsert(articles=[
            {"title": "冷链物流的数字化", "text": CHANGED, "origin": "crawled", "canonical_url": URL,
             "proposed_by": "crawl of news"}])
        assert result.outcome == "revised"
        assert Article.objects.get(id=published_unowned.id).text == TEXT

    def test_an_update_never_clears_or_moves_the_owner(self, db):
        owner = Advertiser.objects.create(name="甲公司")
        other = Advertiser.objects.create(name="乙公司")
        article = services.article_upsert(title="企业稿件", text=TEXT, origin=Article.Origin.SUBMITTED,
                                          owner_id=owner.id).article
        services.article_upsert(article_id=article.id, title="企业稿件（修订）", text=TEXT,
                                origin=Article.Origin.SUBMITTED)
        assert Article.objects.get(id=article.id).owner_id == owner.id
        with pytest.raises(ApplicationError, match="another owner"):
            services.article_upsert(article_id=article.id, title="企业稿件", text=CHANGED,
                                    origin=Article.Origin.SUBMITTED, owner_id=other.id)

    def test_a_pending_article_is_still_updated_in_place(self, db):
        crawl()
        assert crawl(CHANGED).outcome == "updated"
        assert Article.objects.get().text == CHANGED
        assert not ArticleRevision.objects.exists()


class TestRevisionDecisions:
    def test_approval_publishes_the_change_and_requeues_enrichment(self, published_unowned, editor,
                                                                   django_capture_on_commit_callbacks):
        assert "购买" not in published_unowned.tokens.split()
        revision = crawl(CHANGED).revision
        with django_capture_on_commit_callbacks(execute=True):
            services.article_revision_approve(revision_id=revision.id, actor=editor)
        article = Article.objects.get(id=published_unowned.id)
        assert article.text == CHANGED and article.status == Article.Status.APPROVED
        assert article.enrichment_status == Article.Enrichment.DONE
        assert "购买" in article.tokens.split()  # enrichment ran on the new text
        revision.refresh_from_db()
        assert revision.status == ArticleRevision.Status.APPROVED and revision.decided_by == editor
        event = ModerationEvent.objects.get(revision=revision)
        assert event.action == ModerationEvent.Action.APPROVE_REVISION and event.actor == editor

    def test_rejection_needs_a_reason_and_keeps_the_published_text(self, published_unowned, editor):
        revision = crawl(CHANGED).revision
        with pytest.raises(ApplicationError, match="needs a reason"):
            services.article_revision_reject(revision_id=revision.id, actor=editor, reason=" ")
        services.article_revision_reject(revision_id=revision.id, actor=editor, reason="广告内容")
        assert Article.objects.get(id=published_unowned.id).text == TEXT
        revision.refresh_from_db()
        assert revision.status == ArticleRevision.Status.REJECTED and revision.reason == "广告内容"
        assert ModerationEvent.objects.get(revision=revision).action == ModerationEvent.Action.REJECT_REVISION

    def test_a_decided_revision_cannot_be_decided_again(self, published_unowned, editor):
        revision = crawl(CHANGED).revision
        services.article_revision_approve(revision_id=revision.id, actor=editor)
        with pytest.raises(ApplicationError, match="already approved"):
            services.article_revision_reject(revision_id=revision.id, actor=editor, reason="晚了")

    def test_an_analyst_may_not_decide(self, published_unowned, analyst):
        revision = crawl(CHANGED).revision
        with pytest.raises(ApplicationError, match="may not moderate"):
            services.article_revision_approve(revision_id=revision.id, actor=analyst)
        assert Article.objects.get(id=published_unowned.id).text == TEXT

    def test_the_system_approves_for_a_trusted_source(self, published_unowned):
        revision = crawl(CHANGED).revision
        services.article_revision_approve(revision_id=revision.id, actor=None, reason="trusted source news")
        event = ModerationEvent.objects.get(revision=revision)
        assert event.actor is None and event.actor_name == services.SYSTEM_ACTOR


@pytest.mark.django_db(transaction=True)
def test_concurrent_recrawls_leave_one_pending_revision(require_postgres, editor):
    """Two crawls changing the same approved article at once: the row lock orders them, one revision
    waits and the other is superseded, and neither fails on the one-pending constraint."""
    article = crawl().article
    services.article_approve(article_id=article.id, actor=editor)
    barrier = threading.Barrier(2)
    errors = []

    def recrawl(suffix):
        try:
            barrier.wait()
            crawl(CHANGED + suffix)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=recrawl, args=(s,)) for s in ("甲。", "乙。")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    statuses = sorted(ArticleRevision.objects.values_list("status", flat=True))
    assert statuses == ["pending", "superseded"]
    assert Article.objects.get(id=article.id).text == TEXT
