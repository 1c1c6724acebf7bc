"""Index sync: moderation, dirty marks, the sweep and reindex keep the index in step with the library,
and no reader sees a rejected or archived article once the service has returned."""
import numpy as np
import pytest
from django.core.management import call_command

from contentlib import services
from contentlib.models import Article
from recommender.embeddings import to_bytes
from recommender.models import IndexState
from recommender.retrieval import retrieve
from recommender.search import search_backend, sync
from recommender.search.base import SearchFilters

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a write as if its transaction committed: the on-commit index tasks run (eagerly)."""
    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)
    return run


@pytest.fixture
def approved(article_factory, committed):
    def make(**fields):
        article = article_factory(**fields)
        committed(services.article_approve, article_id=article.id)
        return article
    return make


def test_approval_makes_the_article_searchable(approved):
    article = approved(title="冷链物流温控方案", text="生物药冷链运输全程温控，冷链车辆实时监测。" * 3)

    result = retrieve("冷链 温控", mode="lexical")

    assert result.ids == [article.id]
    assert IndexState.objects.get(article_id=article.id).dirty is False


def test_pending_articles_are_indexed_but_not_shown(article_factory):
    article = article_factory(title="冷链物流温控方案", text="生物药冷链运输全程温控。" * 3)
    sync.articles_index([article.id])

    assert retrieve("冷链", mode="lexical").ids == []
    assert retrieve("冷链", mode="lexical", filters=SearchFilters(published_only=False)).ids == [article.id]


@pytest.mark.parametrize("decide", [
    lambda a: services.article_reject(article_id=a.id, reason="off topic"),
    lambda a: services.article_archive(article_id=a.id),
])
def test_rejected_or_archived_articles_vanish_even_before_the_index_catches_up(
    approved, django_capture_on_commit_callbacks, decide
):
    article = approved(title="冷链物流温控方案", text="生物药冷链运输全程温控。" * 3)
    assert retrieve("冷链", mode="lexical").ids == [article.id]

    # The index task is captured, not run: the index still holds the article as published.
    with django_capture_on_commit_callbacks(execute=False):
        decide(article)
    assert [h.id for h in search_backend().lexical(["冷链"])] == [article.id]

    assert retrieve("冷链", mode="lexical").ids == []
    assert retrieve("冷链", mode="hybrid", query_vector=np.ones(4, dtype=np.float32) / 2).ids == []


def test_the_index_follows_a_rejection_once_its_task_runs(approved, committed):
    article = approved(title="冷链物流温控方案", text="生物药冷链运输全程温控。" * 3)

    committed(services.article_reject, article_id=article.id, reason="off topic")

    assert search_backend().lexical(["冷链"]) == []
    assert search_backend().fetch([article.id])[article.id].status == "rejected"


def test_mark_dirty_reindexes_new_enrichment(approved, committed):
    article = approved(title="冷链物流温控方案", text="生物药冷链运输全程温控。" * 3)
    # A new vector of the model's dimension, unlike anything enrichment wrote.
    dim = Article.objects.get(id=article.id).embedding_dim
    vector = np.zeros(dim, dtype=np.float32)
    vector[:2] = (0.6, 0.8)
    Article.objects.filter(id=article.id).update(embedding=to_bytes(vector), embedding_dim=dim)

    committed(sync.article_mark_dirty, article.id)

    assert [h.id for h in search_backend().vector(vector)] == [article.id]
    assert IndexState.objects.get(article_id=article.id).dirty is False


def test_an_unchanged_article_is_not_written_again(approved, monkeypatch):
    article = approved()
    writes = []
    backend = search_backend()
    monkeypatch.setattr(backend, "upsert", lambda docs: writes.append(docs))

    outcome = sync.articles_index([article.id])

    assert outcome["unchanged"] == 1 and writes == []


def test_the_sweep_catches_lost_tasks_edits_and_deletions(article_factory, approved, django_capture_on_commit_callbacks):
    lost = article_factory(title="海外仓选址", text="海外仓和跨境专线的成本比较。" * 3)
    with django_capture_on_commit_callbacks(execute=False):
        services.article_approve(article_id=lost.id)  # the task is lost
    deleted = approved(title="保理融资", text="应收账款保理融资的流程。" * 3)
    Article.objects.filter(id=deleted.id).delete()
    assert retrieve("海外仓", mode="lexical").ids == []

    counts = sync.index_sweep()

    assert retrieve("海外仓", mode="lexical").ids == [lost.id]
    assert deleted.id not in search_backend().ids()
    assert not IndexState.objects.filter(article_id=deleted.id).exists()
    assert counts["indexed"] >= 1 and counts["removed"] == 1
    assert sync.index_sweep() == {"indexed": 0, "unchanged": 0, "removed": 0, "skipped": 0}


def test_reindex_rebuilds_from_the_database(approved, capsys):
    kept = approved(title="海外仓选址", text="海外仓和跨境专线的成本比较。" * 3)
    search_backend().clear()
    assert retrieve("海外仓", mode="lexical").ids == []

    call_command("reindex")

    assert retrieve("海外仓", mode="lexical").ids == [kept.id]
    assert "indexed" in capsys.readouterr().out


def test_reindex_records_what_the_index_holds(approved):
    first = approved(title="海外仓选址", text="海外仓和跨境专线的成本比较。" * 3)
    second = approved(title="冷链温控", text="冷链运输全程温控数据上传。" * 3)
    IndexState.objects.filter(article_id=second.id).delete()  # never recorded
    IndexState.objects.create(article_id=987654, in_index=True, fingerprint="old")  # a deleted article's row
    IndexState.objects.filter(article_id=first.id).update(fingerprint="stale", in_index=False, error="boom")

    sync.index_rebuild()

    states = {s.article_id: s for s in IndexState.objects.all()}
    assert set(states) == {first.id, second.id}
    for article in (first, second):
        state = states[article.id]
        assert state.in_index and not state.dirty and state.error == "" and state.indexed_at is not None
        assert state.fingerprint == sync.document_fingerprint(sync.article_document(Article.objects.get(id=article.id)))
    assert sync.index_sweep() == {"indexed": 0, "unchanged": 0, "removed": 0, "skipped": 0}


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_indexes_on_the_index_queue(celery_worker_on_redis, article_factory):
    """Moderation queues the index task by name; a real worker on Redis runs it."""
    import time

    article = article_factory(title="注塑机伺服节能改造", text="注塑机伺服节能改造的回本周期。" * 3)
    services.article_approve(article_id=article.id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not IndexState.objects.filter(article_id=article.id, in_index=True).exists():
        time.sleep(0.2)

    assert retrieve("注塑机", mode="lexical").ids == [article.id]
