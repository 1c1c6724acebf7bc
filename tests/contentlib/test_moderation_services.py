"""Approve, reject and archive: status changes with an audit row in the same transaction."""
import pytest
from django.utils import translation

from contentlib import services
from contentlib.errors import ApplicationError
from contentlib.models import Article, ModerationEvent


@pytest.fixture(autouse=True)
def _english_messages():
    """The services' messages are read in English here (the admin shows them in the editor's language:
    tests/contentlib/test_translations.py)."""
    with translation.override("en"):
        yield


@pytest.mark.django_db
class TestModeration:
    def test_approve_by_editor_writes_audit_row(self, article_factory, editor):
        article = article_factory()
        services.article_approve(article_id=article.id, actor=editor)
        article.refresh_from_db()
        event = ModerationEvent.objects.get(article=article)
        assert article.status == Article.Status.APPROVED
        assert article.moderated_at is not None
        assert (event.action, event.from_status, event.to_status) == ("approve", "pending", "approved")
        assert event.actor == editor and event.actor_name == "editor"

    def test_system_actor_for_trusted_sources(self, article_factory):
        article = article_factory()
        services.article_approve(article_id=article.id, actor=None)
        event = ModerationEvent.objects.get(article=article)
        assert event.actor is None and event.actor_name == "system"

    def test_reject_requires_a_reason(self, article_factory, editor):
        article = article_factory()
        for reason in ("", "   "):
            with pytest.raises(ApplicationError, match="needs a reason"):
                services.article_reject(article_id=article.id, actor=editor, reason=reason)
        article.refresh_from_db()
        assert article.status == Article.Status.PENDING
        assert not ModerationEvent.objects.exists()

    def test_reject_records_reason_and_approve_later_clears_it(self, article_factory, editor):
        article = article_factory()
        services.article_reject(article_id=article.id, actor=editor, reason="广告法禁用词")
        article.refresh_from_db()
        assert article.status == Article.Status.REJECTED
        assert article.rejection_reason == "广告法禁用词"
        services.article_approve(article_id=article.id, actor=editor)
        article.refresh_from_db()
        assert article.rejection_reason == ""
        assert list(ModerationEvent.objects.filter(article=article).values_list("action", flat=True)) == [
            "approve", "reject"]

    def test_a_reason_posted_with_a_nul_is_kept_without_it(self, article_factory, editor):
        """The admin's reject button posts the raw field; PostgreSQL's text cannot hold a NUL."""
        article = article_factory()
        services.article_reject(article_id=article.id, actor=editor, reason="\x00标题党\x00 ")
        article.refresh_from_db()
        assert article.rejection_reason == "标题党"
        assert ModerationEvent.objects.get(article=article).reason == "标题党"
        with pytest.raises(ApplicationError, match="needs a reason"):
            services.article_reject(article_id=article_factory().id, actor=editor, reason="\x00")

    def test_archive(self, article_factory, editor):
        article = article_factory()
        services.article_approve(article_id=article.id, actor=editor)
        services.article_archive(article_id=article.id, actor=editor, reason="过时")
        article.refresh_from_db()
        assert article.status == Article.Status.ARCHIVED
        assert ModerationEvent.objects.filter(article=article, action="archive", from_status="approved").exists()

    def test_repeating_a_decision_is_refused_and_not_logged(self, article_factory, editor):
        article = article_factory()
        services.article_approve(article_id=article.id, actor=editor)
        with pytest.raises(ApplicationError, match="already approved"):
            services.article_approve(article_id=article.id, actor=editor)
        assert ModerationEvent.objects.filter(article=article).count() == 1

    def test_analyst_cannot_moderate(self, article_factory, analyst):
        article = article_factory()
        with pytest.raises(ApplicationError, match="may not moderate"):
            services.article_approve(article_id=article.id, actor=analyst)
        article.refresh_from_db()
        assert article.status == Article.Status.PENDING
        assert not ModerationEvent.objects.exists()

    def test_duplicate_cannot_be_published(self, article_factory, editor):
        original = article_factory()
        copy = article_factory()
        Article.objects.filter(id=copy.id).update(duplicate_of=original)
        with pytest.raises(ApplicationError, match="duplicates article"):
            services.article_approve(article_id=copy.id, actor=editor)

    def test_editor_category_sticks(self, article_factory, editor):
        from contentlib.models import Category

        category = Category.objects.create(slug="logistics", name="物流")
        article = article_factory()
        services.article_set_category(article_id=article.id, category_id=category.id, actor=editor)
        article.refresh_from_db()
        assert (article.category, article.category_locked, article.category_confidence) == (category, True, 1.0)
