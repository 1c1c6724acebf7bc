"""Celery tasks of the nlp queue: thin, take ids, call a service."""
from celery import shared_task

from recommender import services


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=300, max_retries=5)
def enrich_article(self, article_id: int) -> None:
    services.article_enrich(article_id=article_id)
