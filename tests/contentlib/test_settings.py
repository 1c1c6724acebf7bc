"""Invalid settings stop start-up with a message naming the variable and what it accepts."""
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from contentlib.config import env


def start_django(**variables):
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    environment.update(variables)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"SEARCH_BACKEND": "solr"}, "SEARCH_BACKEND='solr' is not a valid value. Set SEARCH_BACKEND to one of: embedded, elasticsearch."),
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "Set DATABASE_URL to a URL starting with one of: sqlite://, postgres://"),
        ({"CELERY_BROKER_URL": "amqp://guest@localhost//"}, "Set CELERY_BROKER_URL to a URL starting with one of: redis://, rediss://"),
        ({"SEARCH_BACKEND": "elasticsearch"}, "SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL"),
        ({"LLM_PROVIDER": "openai"}, "LLM_PROVIDER=openai needs LLM_BASE_URL and LLM_MODEL"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
    ],
)
def test_invalid_value_stops_start_up(variables, expected):
    result = start_django(**variables)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert expected in result.stderr


def test_defaults_start_on_embedded_settings():
    result = start_django(SEARCH_BACKEND="", LLM_PROVIDER="")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_embedded_defaults():
    if not os.environ.get("DATABASE_URL"):
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
        # a file, also in tests, so worker and crawl subprocesses see the same rows
        assert settings.DATABASES["default"]["TEST"]["NAME"].endswith("test.sqlite3")
    from contentlib.config.celery import app

    assert {q.name for q in app.conf.task_queues} == {"crawl", "nlp", "index", "billing", "default"}


def test_routes_send_each_module_to_its_queue():
    from contentlib.config.celery import app

    router = app.amqp.router
    def queue_of(name):
        return router.route({}, name)["queue"].name
    assert queue_of("recommender.tasks.enrich_article") == "nlp"
    assert queue_of("crawlers.tasks.crawl_due_sources") == "crawl"
    assert queue_of("recommender.search.tasks.index_article") == "index"
    assert queue_of("ads.tasks.settle_clicks") == "billing"
    assert queue_of("contentlib.tasks.anything") == "default"


class TestReaders:
    def test_int_refuses_words_and_small_numbers(self, monkeypatch):
        monkeypatch.setenv("X_LIMIT", "ten")
        with pytest.raises(ImproperlyConfigured, match="X_LIMIT='ten' is not a whole number"):
            env.env_int("X_LIMIT", 1)
        monkeypatch.setenv("X_LIMIT", "-1")
        with pytest.raises(ImproperlyConfigured, match="Set X_LIMIT to 0 or more"):
            env.env_int("X_LIMIT", 1, minimum=0)

    def test_blank_means_default(self, monkeypatch):
        monkeypatch.setenv("X_MODE", "  ")
        assert env.env_choice("X_MODE", ("a", "b"), "a") == "a"

    def test_choice_is_case_insensitive(self, monkeypatch):
        monkeypatch.setenv("X_MODE", "B")
        assert env.env_choice("X_MODE", ("a", "b"), "a") == "b"
