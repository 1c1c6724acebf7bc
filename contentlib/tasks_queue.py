"""Queues work that belongs to packages above the library core, by task name, after commit.

The core never imports recommender or ads; it names their tasks. In eager mode (no broker) the task
must run inline, which needs its code: `signature(...).delay()` loads every app's tasks module and
runs it. With a broker, the message only needs the name and the configured route
(CELERY_TASK_ROUTES), so `send_task` publishes it without importing the upward packages (about a
second per process, which a crawl process would otherwise pay for nothing).
"""
from django.db import transaction

from contentlib.config.celery import app

ENRICH_ARTICLE = "recommender.tasks.enrich_article"
ENRICH_BATCH = "recommender.tasks.enrich_batch"  # takes a list of article ids
INDEX_ARTICLE = "recommender.search.tasks.index_article"
ANSWER_QUESTION = "recommender.tasks.question_answer"  # takes a question id: a reader waits for it
REGENERATE_ANSWER = "recommender.tasks.question_answer_regenerate"  # takes a question id


def queue_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: task_queue(task_name, *args))


def task_queue(task_name: str, *args) -> None:
    """Queues the named task now: run inline in eager mode, else published to its routed queue."""
    if app.conf.task_always_eager:
        app.signature(task_name, args=list(args)).delay()
    else:
        app.send_task(task_name, args=list(args))
