"""crawlers.services: deduplicated saving against the whole library, trusted approval, the crawl lock."""
from dataclasses import replace

import pytest
from django.utils import timezone

from contentlib import corpus
from contentlib import services as library
from contentlib.errors import ApplicationError
from contentlib.models import Article, ModerationEvent, Source
from crawlers import services
from crawlers.extraction import ExtractedPage
from crawlers.models import CrawlPage

O = CrawlPage.Outcome


def _page(corpus_id: str) -> ExtractedPage:
    item = next(a for a in corpus.articles() + corpus.near_duplicates() if a.id == corpus_id)
    return ExtractedPage(title=item.title, text="\n".join(item.paragraphs), html="", author=item.author,
                         published_at=None, language=item.lang, link_text_share=0.0, link_count=0)


@pytest.fixture
def source(db):
    return Source.objects.create(name="S", slug="s", kind=Source.Kind.SITE, start_urls=["https://s.example/"], trusted=True)


def _crawled(corpus_id, url):
    return services.CrawledPage(url=url, canonical_url=url, page=_page(corpus_id), fetched_at=timezone.now())


def _save(source, run, corpus_id, url):
    [result] = services.crawl_pages_save(run_id=run.id, source=source, pages=[_crawled(corpus_id, url)])
    return result


def test_near_duplicate_of_an_article_that_was_never_crawled(source, django_capture_on_commit_callbacks):
    """The index covers the whole library: a portal submission is found as the original."""
    original = _page("zh-ai-01")
    with django_capture_on_commit_callbacks(execute=True):
        submitted = library.article_upsert(title=original.title, text=original.text, origin=Article.Origin.SUBMITTED).article
    assert services.minhash_index_backfill() == 1
    run = services.crawl_run_start(source_id=source.id)
    with django_capture_on_commit_callbacks(execute=True):
        result = _save(source, run, "zh-ai-01-nd", "https://s.example/nd")
    assert result.outcome == O.NEAR_DUPLICATE
    copy = Article.objects.get(id=result.article_id)
    assert copy.duplicate_of_id == submitted.id and not copy.is_published
    assert copy.status == Article.Status.PENDING  # never approved, even from a trusted source
    with pytest.raises(ApplicationError):
        library.article_approve(article_id=copy.id)


def test_exact_copy_at_another_url_is_not_stored(source):
    run = services.crawl_run_start(source_id=source.id)
    first = _save(source, run, "en-ai-01", "https://s.example/a")
    second = _save(source, run, "en-ai-01", "https://s.example/elsewhere")
    assert (first.outcome, second.outcome) == (O.SAVED, O.DUPLICATE)
    assert second.article_id == first.article_id
    assert Article.objects.count() == 1
    event = ModerationEvent.objects.get()
    assert event.actor is None and event.actor_name == library.SYSTEM_ACTOR  # trusted: approved by the system


def test_template_sibling_is_saved_as_its_own_article(source):
    siblings = [a.id for a in corpus.articles() if a.template_group == "zh-med-recall"]
    run = services.crawl_run_start(source_id=source.id)
    outcomes = [_save(source, run, cid, f"https://s.example/{cid}").outcome for cid in siblings]
    assert outcomes == [O.SAVED, O.SAVED]


def test_a_source_cannot_be_crawled_twice_at_once(source):
    running = services.crawl_run_start(source_id=source.id)
    with pytest.raises(ApplicationError) as refused:
        services.crawl_run_start(source_id=source.id)
    assert refused.value.extra == {"code": "locked", "run_id": running.id}
    services.crawl_run_finish(run_id=running.id, finish_reason="finished")
    assert services.crawl_run_start(source_id=source.id).id != running.id


def test_a_batch_judges_its_pages_in_order_as_if_saved_one_at_a_time(source, django_capture_on_commit_callbacks):
    """Duplicates inside one batch are found: same canonical URL, same text, near-duplicate text."""
    run = services.crawl_run_start(source_id=source.id)
    too_short = services.PageResult(O.TOO_SHORT, "12 characters of main text")
    pages = [
        _crawled("zh-ai-01", "https://s.example/original"),
        replace(_crawled("zh-ai-01", "https://s.example/original?utm_source=x"), canonical_url="https://s.example/original"),
        _crawled("zh-ai-01", "https://s.example/copy"),
        _crawled("zh-ai-01-nd", "https://s.example/nd"),
        services.CrawledPage(url="https://s.example/tiny", fetched_at=timezone.now(), decided=too_short),
        _crawled("en-ai-01", "https://s.example/en"),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        results = services.crawl_pages_save(run_id=run.id, source=source, pages=pages)
    original = results[0].article_id
    assert [r.outcome for r in results] == [O.SAVED, O.DUPLICATE, O.DUPLICATE, O.NEAR_DUPLICATE, O.TOO_SHORT, O.SAVED]
    assert results[1].reason == "same canonical URL as https://s.example/original"
    assert results[1].article_id == results[2].article_id == original
    assert results[2].reason.startswith(f"same text as article #{original} ")
    assert Article.objects.get(id=results[3].article_id).duplicate_of_id == original
    assert results[3].reason.endswith(f"similar to article #{original}")
    # Every page's outcome is on record, in page order, in the same transaction as the articles.
    recorded = list(CrawlPage.objects.filter(run=run).values_list("url", "outcome", "article_id"))
    assert recorded == [(p.url, r.outcome, r.article_id) for p, r in zip(pages, results)]
    assert Article.objects.count() == 3
    assert len(callbacks) == 1 + 2  # one enrichment batch, and the search index after each approval
    # Trusted source: the two originals are approved by the system; the near-duplicate is not.
    assert set(ModerationEvent.objects.values_list("article_id", flat=True)) == {original, results[5].article_id}


def test_a_page_the_library_refuses_costs_its_batch_nothing(source):
    run = services.crawl_run_start(source_id=source.id)
    bad = _crawled("en-ai-01", "https://s.example/bad")
    bad.page = replace(bad.page, title="T" * 600)
    pages = [_crawled("zh-ai-01", "https://s.example/a"), bad, _crawled("zh-ai-01", "https://s.example/b")]
    results = services.crawl_pages_save(run_id=run.id, source=source, pages=pages)
    assert [r.outcome for r in results] == [O.SAVED, O.INVALID, O.DUPLICATE]
    assert "600 characters long" in results[1].reason
    assert CrawlPage.objects.filter(run=run).count() == 3
    assert Article.objects.count() == 1


def test_a_second_batch_of_the_same_pages_is_unchanged_and_changes_no_row(source):
    run = services.crawl_run_start(source_id=source.id)
    pages = [_crawled("zh-ai-01", "https://s.example/a"), _crawled("zh-ai-01-nd", "https://s.example/nd")]
    first = services.crawl_pages_save(run_id=run.id, source=source, pages=pages)
    services.crawl_run_finish(run_id=run.id, finish_reason="finished")
    before = list(Article.objects.order_by("id").values())
    second_run = services.crawl_run_start(source_id=source.id)
    pages = [_crawled("zh-ai-01", "https://s.example/a"), _crawled("zh-ai-01-nd", "https://s.example/nd")]
    second = services.crawl_pages_save(run_id=second_run.id, source=source, pages=pages)
    assert [r.outcome for r in first] == [O.SAVED, O.NEAR_DUPLICATE]
    assert [r.outcome for r in second] == [O.UNCHANGED, O.NEAR_DUPLICATE]
    assert second[1].reason == f"unchanged; repeats article #{first[0].article_id}"
    assert list(Article.objects.order_by("id").values()) == before


def test_a_page_that_breaks_the_batch_is_recorded_and_the_others_are_saved(source):
    """An unexpected error rolls the batch back; the pages are then saved one by one."""
    run = services.crawl_run_start(source_id=source.id)
    broken = services.CrawledPage(url="https://s.example/broken", canonical_url="https://s.example/broken",
                                  page=None, fetched_at=timezone.now())  # undecided, yet nothing extracted
    pages = [_crawled("zh-ai-01", "https://s.example/a"), broken, _crawled("en-ai-01", "https://s.example/b")]
    results = services.crawl_pages_save(run_id=run.id, source=source, pages=pages)
    assert [r.outcome for r in results] == [O.SAVED, O.INVALID, O.SAVED]
    assert results[1].reason.startswith("could not be saved (AttributeError")
    assert list(CrawlPage.objects.filter(run=run).values_list("outcome", flat=True)) == [O.SAVED, O.INVALID, O.SAVED]
    assert Article.objects.count() == 2
