"""Celery tasks of the `index` queue (routed by module; run it with concurrency 1): thin, take ids."""
from celery import shared_task

from recommender.search import sync


@shared_task(autoretry_for=(OSError, ConnectionError), retry_backoff=True, retry_backoff_max=300, max_retries=8)
def index_article(article_id: int) -> dict:
    """Brings one article's index entry up to date (queued after approval, rejection, edits, enrichment)."""
    return sync.articles_index([article_id])


@shared_task(autoretry_for=(OSError, ConnectionError), retry_backoff=True, retry_backoff_max=600, max_retries=3)
def index_sweep() -> dict:
    """The periodic safety net: indexes whatever lost tasks or crashes left stale."""
    return sync.index_sweep()
