"""The reader activity log: what the site writes to it (people only), how (in batches, queries
normalized) and how long it is kept."""
import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contentlib import services
from recommender import activity
from recommender.models import ReaderActivity

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "python-requests/2.31.0",
    "",
]


@pytest.fixture(autouse=True)
def _empty_buffer():
    activity.activity_flush()
    yield
    activity.activity_flush()


@pytest.mark.django_db
def test_a_search_is_logged_once_as_its_normalized_query(client):
    client.get(reverse("site:search"), {"q": "  展览 制作？"}, HTTP_USER_AGENT=BROWSER)
    client.get(reverse("site:search"), {"q": "ＡＩ 客服"}, HTTP_USER_AGENT=BROWSER)
    activity.activity_flush()
    rows = list(ReaderActivity.objects.order_by("id").values_list("kind", "query", "placement"))
    assert rows == [("search", "展览制作", "search"), ("search", "ai 客服", "search")]
    row = ReaderActivity.objects.first()
    assert len(row.reader_key) == 32 and "127.0.0.1" not in row.reader_key


@pytest.mark.django_db
def test_an_article_view_is_logged_with_its_id(client, article_factory, editor):
    article = article_factory(title="展台设计的五个误区")
    services.article_approve(article_id=article.id, actor=editor)
    client.get(reverse("site:article_detail", args=[article.id]), HTTP_USER_AGENT=BROWSER)
    activity.activity_flush()
    assert list(ReaderActivity.objects.values_list("kind", "article_id", "placement")) == [
        ("article_view", article.id, "article")]


@pytest.mark.django_db
@pytest.mark.parametrize("agent", BOTS)
def test_bots_are_never_logged(client, agent):
    client.get(reverse("site:search"), {"q": "展览制作"}, HTTP_USER_AGENT=agent)
    activity.activity_flush()
    assert not ReaderActivity.objects.exists()


@pytest.mark.django_db
def test_staff_and_prefetches_are_never_logged(client, editor):
    client.get(reverse("site:search"), {"q": "展览制作"}, HTTP_USER_AGENT=BROWSER, HTTP_SEC_PURPOSE="prefetch")
    client.force_login(editor)
    client.get(reverse("site:search"), {"q": "展览制作"}, HTTP_USER_AGENT=BROWSER)
    activity.activity_flush()
    assert not ReaderActivity.objects.exists()


@pytest.mark.django_db
def test_rows_wait_in_the_buffer_until_a_batch_is_full(settings):
    settings.ACTIVITY_BATCH_SIZE = 3
    settings.ACTIVITY_FLUSH_SECONDS = 3600
    for n in range(2):
        activity.activity_record(kind="search", reader_key="r1", query=f"q{n}")
    assert ReaderActivity.objects.count() == 0
    activity.activity_record(kind="search", reader_key="r1", query="q2")
    assert ReaderActivity.objects.count() == 3


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="Unknown activity kind 'impression'"):
        activity.activity_row(kind="impression", reader_key="r")


@pytest.mark.django_db
def test_rows_older_than_the_retention_are_purged(settings):
    settings.RAW_EVENT_RETENTION_DAYS = 90
    now = timezone.now()
    old = activity.activity_row(kind="search", reader_key="r", query="旧", at=now - dt.timedelta(days=91))
    kept = activity.activity_row(kind="search", reader_key="r", query="新", at=now - dt.timedelta(days=89))
    activity.activities_write([old, kept])
    assert activity.activity_purge(now=now) == 1
    assert list(ReaderActivity.objects.values_list("query", flat=True)) == ["新"]


@pytest.mark.django_db
def test_generate_traffic_writes_sessions_for_the_librarys_demo_articles_and_replaces_them_when_run_again():
    from contentlib.models import Article

    for corpus_id in ("zh-exh-01", "zh-exh-02", "zh-log-01"):
        Article.objects.create(title=corpus_id, text="x", origin="crawled", status="approved",
                               canonical_url=f"http://127.0.0.1:8001/articles/{corpus_id}.html")
    call_command("generate_traffic", "--readers", "50", "--until", "2026-11-30")
    first = ReaderActivity.objects.count()
    call_command("generate_traffic", "--readers", "50", "--until", "2026-11-30")
    assert ReaderActivity.objects.count() == first > 0
    ids = set(Article.objects.values_list("id", flat=True))
    assert set(ReaderActivity.objects.exclude(article_id=None).values_list("article_id", flat=True)) <= ids
    assert ReaderActivity.objects.filter(kind="search").exclude(query="").exists()
