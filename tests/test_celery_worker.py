"""A real Celery worker on Redis runs the work that a save queues after commit."""
import time

import pytest

from contentlib import services
from contentlib.models import Article
from tests.waiting import wait_for


@pytest.mark.django_db(transaction=True)
def test_upsert_queues_enrichment_that_a_real_worker_runs(celery_worker_on_redis):
    article = services.article_upsert(
        title="港口自动化码头的远程操控", text="自动化码头的岸桥由远程操控中心统一调度，集装箱周转效率明显提升。" * 3,
        origin=Article.Origin.CRAWLED, canonical_url="https://port.example.com/remote",
    ).article
    # Nothing ran inline: the broker carries the task to the worker thread.
    assert wait_for(lambda: Article.objects.get(id=article.id).enrichment_status == Article.Enrichment.DONE), (
        "the worker did not enrich the article within 60 s"
    )
    article.refresh_from_db()
    assert "集装箱" in article.tokens.split()
    assert article.language == "zh"


@pytest.mark.django_db(transaction=True)
def test_delay_on_commit_waits_for_the_commit(celery_worker_on_redis):
    from django.db import transaction

    from recommender.tasks import enrich_article

    with transaction.atomic():
        article = Article.objects.create(
            title="Edge AI cameras", text="Cameras that run models on the device cut bandwidth costs.",
            origin=Article.Origin.CRAWLED, content_hash="x" * 64,
        )
        enrich_article.delay_on_commit(article.id)
        time.sleep(1.0)
        # Still inside the transaction: the task has not been sent, so nothing is written yet.
        assert Article.objects.get(id=article.id).enrichment_status == Article.Enrichment.PENDING
    assert wait_for(lambda: Article.objects.get(id=article.id).enrichment_status == Article.Enrichment.DONE)
    assert "cameras" in Article.objects.get(id=article.id).tokens.split()
