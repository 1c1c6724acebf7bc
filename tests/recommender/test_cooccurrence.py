"""Co-occurrence models: LLR scores over sessions, minimum support, order for query→article, the
stored active model, and a killed rebuild that leaves the previous model in use."""
import datetime as dt
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from recommender import activity, cooccurrence
from recommender.cooccurrence import BuildParams, events_from_rows, models_build
from recommender.models import CooccurrenceModel
from tests.recommender.test_worker_crash import database_url
from tests.waiting import wait_for

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)


def _session(reader, items, *, day=T0.date()):
    """Rows for one session: strings are searches, ints are article views, one minute apart."""
    rows = []
    for n, item in enumerate(items):
        at = T0 + dt.timedelta(minutes=n)
        if isinstance(item, str):
            rows.append((reader, day, "search", item, None, at))
        else:
            rows.append((reader, day, "article_view", "", item, at))
    return rows


def _model(rows, **params):
    events = events_from_rows(rows)
    built = models_build(events, BuildParams(**{"min_support": 2, "min_llr": 0.0, **params}))
    return cooccurrence.Cooccurrence(0, cooccurrence._pack(events, built))


def test_queries_searched_together_are_neighbours_and_a_popular_query_is_not_everyones():
    rows = []
    for n in range(6):
        rows += _session(f"r{n}", ["展览制作", "展台设计", "热门"])
    for n in range(40):
        rows += _session(f"p{n}", ["热门", f"孤立{n}"])
    model = _model(rows)
    neighbours = model.related_queries("展览制作")
    assert neighbours[0].item == "展台设计" and neighbours[0].readers == 6
    assert "热门" not in [n.item for n in neighbours], "co-occurs no more than its own frequency predicts"


def test_pairs_below_the_minimum_support_are_not_scored():
    rows = _session("a", ["冷链", "温控"]) + _session("b", ["冷链", "温控"]) + _session("c", ["冷链", "冷藏车"])
    rows += _session("d", ["展会", "展台"]) + _session("e", ["展会", "展台"]) + _session("f", ["冷藏车", "展台"])
    model = _model(rows, min_support=2)
    assert [n.item for n in model.related_queries("冷链")] == ["温控"]
    assert _model(rows, min_support=3).related_queries("冷链") == []


def test_a_reader_repeating_an_item_counts_once():
    rows = _session("a", ["冷链", "温控", "温控", "温控"]) + _session("a", ["冷链", "温控"])
    model = _model(rows, min_support=2)
    assert model.related_queries("冷链") == [], "one session, however many repeats"


def test_query_to_article_counts_only_articles_read_after_the_query():
    rows = []
    for n in range(5):
        rows += _session(f"r{n}", [101, "展台设计", 202])
        rows += _session(f"s{n}", ["展会", 303, 101])
    model = _model(rows)
    assert [n.item for n in model.articles_after_query("展台设计")] == [202]


def test_articles_read_in_the_same_session_are_neighbours():
    rows = []
    for n in range(5):
        rows += _session(f"r{n}", [1, 2])
        rows += _session(f"s{n}", [3, 4 + n])
    model = _model(rows)
    assert [n.item for n in model.related_articles(1)] == [2]
    assert model.co_readers("aa", 1) == 5 and not model.little_traffic("aa", 1)
    assert model.co_readers("aa", 5) == 1 and model.little_traffic("aa", 5)


def test_pairs_that_chance_explains_are_not_scored():
    """Two sessions of six sharing a pair: LLR 5.2, below the p = 0.001 cut (10.83); six of twelve: 16.6."""
    few = _session("a", ["冷链", "温控"]) + _session("b", ["冷链", "温控"])
    few += [row for n in range(4) for row in _session(f"x{n}", ["展会", "展台"])]
    assert _model(few, min_llr=10.83).related_queries("冷链") == []
    many = [row for n in range(6) for row in _session(f"a{n}", ["冷链", "温控"]) + _session(f"x{n}", ["展会", "展台"])]
    assert [n.item for n in _model(many, min_llr=10.83).related_queries("冷链")] == ["温控"]


def test_llr_matches_a_hand_computed_table():
    # k11=10, k12=0, k21=0, k22=10: LLR = 2 * 20 * ln 2
    assert np.isclose(cooccurrence.llr(np.array([10]), np.array([0]), np.array([0]), np.array([10]))[0],
                      40 * np.log(2))


def _log(reader, items, *, at=None):
    at = at or timezone.now() - dt.timedelta(hours=1)
    for n, item in enumerate(items):
        kind, fields = ("search", {"query": item}) if isinstance(item, str) else ("article_view", {"article_id": item})
        activity.activities_write([activity.activity_row(kind=kind, reader_key=reader, at=at + dt.timedelta(minutes=n),
                                                         **fields)])


@pytest.mark.django_db
def test_rebuild_from_the_log_folds_spacing_case_and_full_width_variants_into_one_query():
    for n, variant in enumerate(["展览 制作", "展览制作", "展览　制作", "展览制作？"] * 2):
        _log(f"r{n}", [variant, "ＡＩ 客服" if n % 2 else "ai 客服"])
        _log(f"other{n}", ["冷链", "温控"])
    call_command("cooccurrence_rebuild")
    model = cooccurrence.model_current(refresh=True)
    assert sorted(model.queries) == sorted(["展览制作", "ai 客服", "冷链", "温控"])
    assert [(n.item, n.readers) for n in model.related_queries("展览制作")] == [("ai 客服", 8)]


@pytest.mark.django_db
def test_a_rebuild_replaces_the_active_model_and_is_idempotent():
    for n in range(6):
        _log(f"r{n}", ["冷链", "温控"])
        _log(f"s{n}", ["展览制作", "展台设计"])
    first = cooccurrence.model_rebuild()
    second = cooccurrence.model_rebuild()
    assert list(CooccurrenceModel.objects.filter(active=True).values_list("id", flat=True)) == [second.id]
    assert bytes(first.data) == bytes(second.data)


@pytest.mark.django_db
def test_activity_outside_the_window_is_not_read(settings):
    settings.RAW_EVENT_RETENTION_DAYS = 30
    for n in range(6):
        _log(f"old{n}", ["冷链", "温控"], at=timezone.now() - dt.timedelta(days=31))
        _log(f"b{n}", ["展览制作", "展台设计"])
    cooccurrence.model_rebuild()
    assert cooccurrence.model_current(refresh=True).related_queries("冷链") == []


PAUSED_REBUILD = """
import sys, time, django
django.setup()
from recommender import cooccurrence
original = cooccurrence.CooccurrenceModel.objects.create
def create_then_hang(**fields):
    row = original(**fields)
    print("inside the transaction", flush=True)
    time.sleep(120)
    return row
cooccurrence.CooccurrenceModel.objects.create = create_then_hang
cooccurrence.model_rebuild()
"""


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_killed_half_way_leaves_the_previous_model_in_use(require_postgres):
    for n in range(6):
        _log(f"r{n}", ["冷链", "温控"])
        _log(f"b{n}", ["展览制作", "展台设计"])
    previous = cooccurrence.model_rebuild()
    for n in range(6):
        _log(f"s{n}", ["冷链", "冷藏车"])
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"}
    process = subprocess.Popen([sys.executable, "-c", PAUSED_REBUILD], cwd=settings.BASE_DIR, env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "inside the transaction", "the rebuild never got to its write"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert wait_for(lambda: not CooccurrenceModel.objects.exclude(id=previous.id).exists(), timeout=30)
    assert list(CooccurrenceModel.objects.filter(active=True).values_list("id", flat=True)) == [previous.id]
    model = cooccurrence.model_current(refresh=True)
    assert model.model_id == previous.id and [n.item for n in model.related_queries("冷链")] == ["温控"]


def test_the_nightly_beat_schedules_the_rebuild_task():
    from contentlib.config.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["cooccurrence-rebuild"]
    assert entry["task"] in app.tasks and entry["schedule"] == 24 * 3600


def test_the_rebuild_task_runs_on_a_real_worker(celery_worker_on_redis):
    from recommender.tasks import cooccurrence_rebuild

    for n in range(6):
        _log(f"r{n}", ["冷链", "温控"])
        _log(f"b{n}", ["展览制作", "展台设计"])
    cooccurrence_rebuild.delay()
    assert wait_for(lambda: CooccurrenceModel.objects.filter(active=True).exists(), timeout=60)
    assert [n.item for n in cooccurrence.model_current(refresh=True).related_queries("冷链")] == ["温控"]
