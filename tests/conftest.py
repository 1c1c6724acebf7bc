"""Shared fixtures. Tests run on SQLite unless DATABASE_URL points at PostgreSQL; Celery is eager
unless a test asks for the real worker. A test that needs PostgreSQL or Redis is skipped without
them, and that skip is a failure when CI=true: CI must exercise the real services."""
import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from contentlib.config.celery import app as celery_app
from contentlib.roles import groups_ensure

IN_CI = os.environ.get("CI", "").lower() == "true"


def _require(available: bool, reason: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}; CI must run this test against the real service.")
    pytest.skip(reason)


@pytest.fixture
def require_postgres():
    _require(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://... to run it",
    )


@pytest.fixture
def require_redis():
    _require(settings.CELERY_BROKER_URL.startswith("redis"), "needs Redis: set CELERY_BROKER_URL=redis://... to run it")


@pytest.fixture(autouse=True)
def _process_state_reset():
    """Each test starts in the default language, outside any Celery task and with the sponsored
    block's per-process caches empty, whatever ran before it in this process (an in-process worker
    marks the process as inside a task; a test may leave English active; a placement cached by a
    test is gone with its rollback). Under xdist the tests before it differ from run to run."""
    from celery._state import _set_task_join_will_block  # noqa: PLC0415
    from django.utils import translation  # noqa: PLC0415

    from ads.sponsored import block_caches_forget  # noqa: PLC0415

    _set_task_join_will_block(False)
    block_caches_forget()
    translation.activate(settings.LANGUAGE_CODE)
    yield


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Runs tasks inline, raising their errors, unless the test uses the real worker."""
    if "celery_worker_on_redis" in request.fixturenames:
        yield
        return
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def celery_worker_on_redis(require_redis, transactional_db):
    """A real Celery worker thread consuming every queue from the Redis broker."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        for queue in celery_app.conf.task_queues:
            queue.bind(conn).purge()
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
        queues=[q.name for q in celery_app.conf.task_queues],
    ) as worker:
        yield worker


_FLUSHING_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}


def _flushes_the_database(item) -> bool:
    """Whether `item` is a transactional test, which empties every table when it ends."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool(_FLUSHING_FIXTURES & set(getattr(item, "fixturenames", ())))


def _uses_the_database(item) -> bool:
    return item.get_closest_marker("django_db") is not None or "db" in getattr(item, "fixturenames", ())


_flushed = False  # a transactional test emptied the tables since the migrations' rows were last put back
_migration_rows: dict[str, str] = {}  # per database alias, the rows the migrations made, serialized


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and a copy of the rows their migrations made (Django keeps
    one only when some test asks for serialized_rollback), for `pytest_runtest_setup` below."""
    from django.db import connections  # noqa: PLC0415

    with django_db_blocker.unblock():
        for connection in connections.all():
            _migration_rows[connection.alias] = (getattr(connection, "_test_serialized_contents", None)
                                                 or connection.creation.serialize_db_to_string())
    yield


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    global _flushed
    if _flushes_the_database(item):
        _flushed = True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Puts the migrations' rows back (placements, plans, groups...) before a test that runs in a
    transaction and expects them, when a transactional test emptied the tables since.

    In one process pytest-django runs those tests before every transactional one; under xdist each
    worker takes whole files in the controller's order, so one file's transactional tests can come
    before another file's others. The rows come from the copy `django_db_setup` keeps above
    (TEST_NON_SERIALIZED_APPS leaves out auth, whose groups `groups_ready` makes).
    """
    global _flushed
    if not _flushed or _flushes_the_database(item) or not _uses_the_database(item):
        return
    from django.db import connections  # noqa: PLC0415
    from pytest_django.plugin import blocking_manager_key  # noqa: PLC0415

    with item.config.stash[blocking_manager_key].unblock():
        for alias, rows in _migration_rows.items():
            connections[alias].creation.deserialize_db_from_string(rows)
        groups_ready()
    _flushed = False


def groups_ready() -> None:
    """The groups with their permissions, whatever an earlier transactional test's flush removed (it
    can take the permission rows with it, not only the migrations' groups)."""
    from django.apps import apps  # noqa: PLC0415
    from django.contrib.auth.management import create_permissions  # noqa: PLC0415

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    groups_ensure()


def _user(username: str, group: str | None, **extra):
    groups_ready()
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-only", is_staff=True, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor(db):
    return _user("editor", "Editors")


@pytest.fixture
def analyst(db):
    return _user("analyst", "Analysts")


@pytest.fixture
def article_factory(db, django_capture_on_commit_callbacks):
    """Creates articles through the upsert service, running the enrichment it queues."""
    from contentlib import services
    from contentlib.models import Article

    counter = {"n": 0}

    def make(**overrides):
        counter["n"] += 1
        n = counter["n"]
        fields = {
            "title": f"智能仓储系统第{n}期观察",
            "text": f"第{n}篇：仓储自动化让分拣效率提升了三成，AGV小车在夜间完成补货。" * 3,
            "origin": Article.Origin.CRAWLED,
            "canonical_url": f"https://news.example.com/a/{n}",
        }
        fields.update(overrides)
        with django_capture_on_commit_callbacks(execute=True):
            return services.article_upsert(**fields).article

    return make


@pytest.fixture
def categories_loaded(db):
    """The corpus's categories, as {slug: id}."""
    from contentlib.demo import categories_ensure
    from contentlib.models import Category

    categories_ensure()
    return dict(Category.objects.values_list("slug", "id"))


@pytest.fixture(autouse=True)
def _isolated_data_dir(settings, tmp_path):
    """Fitted models and the embedded search index go to a per-test directory, so tests never see
    each other's fits or documents."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.SEARCH_INDEX_DIR = settings.DATA_DIR / "search"
    yield
    from recommender.search import search_backend_reset

    search_backend_reset()


@pytest.fixture(autouse=True)
def _reader_activity_buffer_empty():
    """Each test starts and ends with this process's reader-activity buffer empty, so that rows one
    test's pages queued are never written into the next test's database (or at exit, after it)."""
    from recommender import activity  # noqa: PLC0415

    def empty():
        with activity._lock:
            activity._buffer.clear()
            activity._oldest = None

    empty()
    yield
    empty()
