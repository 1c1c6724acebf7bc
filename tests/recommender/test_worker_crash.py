"""A worker killed with SIGKILL mid-task loses nothing and never leaves an article half-written."""
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from contentlib.config.celery import app
from contentlib.models import Article, ArticleKeyword
from recommender import services
from tests.waiting import wait_for


def database_url() -> str:
    db = connection.settings_dict  # pytest-django has switched NAME to the test database
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(data_dir) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "contentlib.config", "worker", "-Q", "nlp", "-P", "solo",
         "-c", "1", "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "warning"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )




def status(article_id):
    return Article.objects.get(id=article_id).enrichment_status


@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_task_then_restart_and_sweep(require_redis, tmp_path, django_capture_on_commit_callbacks):
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues:
            queue.bind(conn).purge()
    text = "这家物流企业在华东新建了三座自动化立体仓库，货到人拣选让人均效率提升了两倍。" * 40
    article = Article.objects.create(title="自动化立体仓库", text=text, origin="crawled", content_hash="k" * 64)

    worker = start_worker(tmp_path)
    try:
        app.signature("recommender.tasks.enrich_article", args=[article.id]).delay()
        # A fresh worker spends seconds loading the embedding model while the article is running.
        assert wait_for(lambda: status(article.id) == "running", timeout=90, interval=0.05), (
            "the worker never started the task")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()

    killed = Article.objects.get(id=article.id)
    assert killed.enrichment_status == "running"
    assert (killed.tokens, killed.summary, killed.embedding) == ("", "", None), "nothing half-written"
    assert not ArticleKeyword.objects.filter(article=article).exists()

    worker = start_worker(tmp_path)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.stale_enrichment_requeue(older_than=__import__("datetime").timedelta(0)) == 1
        assert wait_for(lambda: status(article.id) == "done", timeout=120), "the swept article was not enriched"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()

    done = Article.objects.get(id=article.id)
    assert done.tokens and done.summary and done.language == "zh"
    assert done.embedding_dim == 384 and done.embedding_model == "multilingual-e5-small-q4"
    assert ArticleKeyword.objects.filter(article=article).exists()
