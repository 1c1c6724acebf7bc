"""Queues work that belongs to packages above the library core, by task name, after commit.

The core never imports recommender or ads; it names their tasks. `signature(...).delay()` honours
eager mode, which `send_task` would not.
"""
from django.db import transaction

from contentlib.config.celery import app

ENRICH_ARTICLE = "recommender.tasks.enrich_article"
ENRICH_BATCH = "recommender.tasks.enrich_batch"  # takes a list of article ids
INDEX_ARTICLE = "recommender.search.tasks.index_article"


def queue_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: app.signature(task_name, args=list(args)).delay())
