"""Which of two near-duplicates is the original: the earliest date, then the sitemap's page, then the
first seen; a later-crawled original takes the copy's place only through moderation, and never an
enterprise's article's place."""
import datetime as dt
from dataclasses import replace

import pytest
from django.utils import timezone

from contentlib import services as library
from contentlib.models import Article, ModerationEvent, Source
from crawlers import services
from crawlers.models import CrawlPage
from tests.crawlers.test_services import _crawled, _page

O = CrawlPage.Outcome
A = ModerationEvent.Action
EARLY = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
LATE = dt.datetime(2025, 3, 9, 9, tzinfo=dt.UTC)


def _source(*, trusted: bool) -> Source:
    return Source.objects.create(name="S", slug=f"s-{trusted}", kind=Source.Kind.SITE,
                                 start_urls=["https://s.example/"], trusted=trusted)


def _dated(corpus_id: str, url: str, published_at, **kwargs):
    page = _crawled(corpus_id, url)
    return replace(page, page=replace(page.page, published_at=published_at), **kwargs)


def _save(source, page) -> services.PageResult:
    run = services.crawl_run_start(source_id=source.id)
    [result] = services.crawl_pages_save(run_id=run.id, source=source, pages=[page])
    services.crawl_run_finish(run_id=run.id, finish_reason="finished")
    return result


def _events(article_id: int) -> list[tuple[str, str]]:
    return list(ModerationEvent.objects.filter(article_id=article_id).order_by("id").values_list("action", "actor_name"))


def test_rewrite_first_then_original_the_original_is_published_after_an_editors_approval(
        require_postgres, db, editor, django_capture_on_commit_callbacks):
    source = _source(trusted=False)
    with django_capture_on_commit_callbacks(execute=True):
        first = _save(source, _dated("zh-ai-01-nd", "https://farm.example/rewrite", LATE))
    rewrite = first.article_id
    assert first.outcome == O.SAVED
    library.article_approve(article_id=rewrite, actor=editor)

    with django_capture_on_commit_callbacks(execute=True):
        second = _save(source, _dated("zh-ai-01", "https://s.example/original", EARLY))
    original = Article.objects.get(id=second.article_id)
    assert second.outcome == O.SAVED
    assert second.reason == f"the original of article #{rewrite} (published earlier): it takes its place once approved"
    # Nothing changes before the decision: the rewrite stays published, the original waits.
    assert Article.objects.get(id=rewrite).is_published
    assert original.status == Article.Status.PENDING and original.supersedes_id == rewrite

    with django_capture_on_commit_callbacks(execute=True):
        library.article_approve(article_id=original.id, actor=editor)
    original.refresh_from_db()
    copy = Article.objects.get(id=rewrite)
    assert original.is_published and original.supersedes_id is None
    assert copy.duplicate_of_id == original.id and not copy.is_published
    assert _events(original.id) == [(A.APPROVE, "editor")]
    assert _events(rewrite) == [(A.APPROVE, "editor"), (A.MARK_DUPLICATE, "editor")]
    assert ModerationEvent.objects.get(action=A.MARK_DUPLICATE).reason == f"article #{original.id} is the original"

    # The next crawl of the rewrite finds it a near-duplicate of the original, and changes nothing.
    again = _save(source, _dated("zh-ai-01-nd", "https://farm.example/rewrite", LATE))
    assert (again.outcome, again.reason) == (O.NEAR_DUPLICATE, f"unchanged; repeats article #{original.id}")


def test_a_trusted_sources_original_is_approved_by_the_system_with_its_events(require_postgres, db):
    source = _source(trusted=True)
    rewrite = _save(source, _dated("zh-ai-01-nd", "https://farm.example/rewrite", LATE)).article_id
    result = _save(source, _dated("zh-ai-01", "https://s.example/original", EARLY))
    assert result.reason == f"the original of article #{rewrite} (published earlier), which is now its duplicate"
    assert Article.objects.get(id=result.article_id).is_published
    assert Article.objects.get(id=rewrite).duplicate_of_id == result.article_id
    assert _events(result.article_id) == [(A.APPROVE, library.SYSTEM_ACTOR)]
    assert _events(rewrite) == [(A.APPROVE, library.SYSTEM_ACTOR), (A.MARK_DUPLICATE, library.SYSTEM_ACTOR)]


def test_an_enterprises_article_is_never_demoted_by_a_crawl(require_postgres, db, editor):
    rewrite = _page("zh-ai-01-nd")
    submitted = library.article_upsert(title=rewrite.title, text=rewrite.text, origin=Article.Origin.SUBMITTED,
                                       published_at=LATE).article
    library.article_approve(article_id=submitted.id, actor=editor)
    services.minhash_index_backfill()
    result = _save(_source(trusted=True), _dated("zh-ai-01", "https://s.example/original", EARLY))
    assert result.outcome == O.NEAR_DUPLICATE and result.reason.endswith(f"similar to article #{submitted.id}")
    submitted.refresh_from_db()
    assert submitted.is_published and submitted.duplicate_of_id is None
    assert not ModerationEvent.objects.filter(action=A.MARK_DUPLICATE).exists()
    with pytest.raises(Exception):  # and no way round it through the service either
        library.article_propose_as_original(article_id=result.article_id, copy_id=submitted.id)


def test_without_dates_the_page_the_sitemap_lists_is_the_original(require_postgres, db):
    source = _source(trusted=True)
    first = _save(source, _dated("zh-ai-01-nd", "https://s.example/rewrite", None)).article_id
    listed = _save(source, _dated("zh-ai-01", "https://s.example/original", None, in_sitemap=True))
    assert listed.reason.startswith(f"the original of article #{first} (listed in the site's sitemap)")
    assert Article.objects.get(id=first).duplicate_of_id == listed.article_id
    # Neither dated nor listed: the first seen stays the original.
    third = _save(source, _dated("zh-ai-01-nd", "https://s.example/rewrite-2", None))
    assert third.outcome == O.DUPLICATE  # the same text as the demoted copy, folded into the original
    assert third.article_id == listed.article_id


def test_a_print_version_seen_first_folds_into_the_page(require_postgres, db):
    source = _source(trusted=True)
    printed = _save(source, _crawled("en-ai-01", "https://s.example/a.html?print=1")).article_id
    page = _save(source, _crawled("en-ai-01", "https://s.example/a.html"))
    assert page.reason.startswith(f"the original of article #{printed} (the other is a print version)")
    assert Article.objects.get(id=printed).duplicate_of_id == page.article_id
    assert Article.objects.get(id=page.article_id).is_published
