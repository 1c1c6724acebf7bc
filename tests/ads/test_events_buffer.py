"""The Redis buffer of served impressions (ads/events.py, AD_EVENTS_REDIS_URL) and its COPY flush:
at least once, idempotent on the impression's id, so that a flusher SIGKILLed mid-flush loses no
impression and counts none twice."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from ads import events
from ads.models import Click, Impression
from tests.ads.tracking_helpers import LATE, READER, make_campaign, placement, result_for

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("require_postgres", "require_redis")]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def buffer(settings):
    settings.AD_EVENTS_REDIS_URL = django_settings.CELERY_BROKER_URL
    settings.AD_EVENTS_FLUSH_LOCK_SECONDS = 1.0
    client = events._buffer()
    client.delete(events.BUFFER_KEY, events.FLUSH_LOCK)
    yield client
    client.delete(events.BUFFER_KEY, events.FLUSH_LOCK)


def serve_many(campaign, auctions):
    ids = []
    for _ in range(auctions):
        ids += [s.impression_id for s in events.impressions_serve(result=result_for(campaign, campaign),
                                                                  placement=placement(), visitor=READER, now=LATE)]
    return ids


def test_served_impressions_wait_in_redis_until_the_flush_copies_them(buffer):
    campaign = make_campaign()
    ids = serve_many(campaign, 3)
    assert events.buffered_count() == 6 and not Impression.objects.exists()
    assert events.impressions_flush(batch=4) == 6
    assert set(Impression.objects.values_list("id", flat=True)) == set(ids)
    assert events.buffered_count() == 0
    row = Impression.objects.get(id=ids[0])
    assert (row.campaign_id, row.reader_key, row.price, row.served_at) == (campaign.id, READER.reader_key,
                                                                          campaign.max_bid, LATE)


def test_a_click_on_an_impression_still_in_the_buffer_flushes_it_and_is_charged(buffer):
    campaign = make_campaign()
    impression = serve_many(campaign, 1)[0]
    outcome = events.click_record(impression_id=impression, visitor=READER, at=LATE)
    assert outcome.billed and Click.objects.get(id=outcome.click_id).impression_id == impression


FLUSHER = """
import sys, time
import django
django.setup()
from ads import events
moment, signal_file = sys.argv[1], sys.argv[2]
if moment == "after_commit":
    client = events._buffer()
    def ltrim(*args, **kwargs):  # the batch is committed; the buffer not yet trimmed
        open(signal_file, "w").write("now")
        time.sleep(600)
    client.ltrim = ltrim
else:
    insert = events._insert
    def slow(rows):  # the batch is copied, not committed
        insert(rows)
        open(signal_file, "w").write("now")
        time.sleep(600)
    events._insert = slow
events.impressions_flush(batch=700)
"""


@pytest.mark.parametrize("moment", ["before_commit", "after_commit"])
def test_a_flusher_killed_mid_flush_loses_nothing_and_counts_nothing_twice(buffer, moment, tmp_path):
    campaign = make_campaign()
    ids = serve_many(campaign, 1000)  # 2,000 impressions, three batches
    db = django_settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "contentlib.config.settings", "PYTHONPATH": str(ROOT),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "AD_EVENTS_REDIS_URL": django_settings.AD_EVENTS_REDIS_URL, "AD_EVENTS_FLUSH_LOCK_SECONDS": "1",
           "LOCAL_SECRET_KEY": "1"}
    env.pop("CELERY_BROKER_URL", None)
    signal_file = tmp_path / "signal"
    flusher = subprocess.Popen([sys.executable, "-c", FLUSHER, moment, str(signal_file)], env=env, cwd=ROOT)
    try:
        for _ in range(600):
            if signal_file.exists() or flusher.poll() is not None:
                break
            time.sleep(0.1)
        assert signal_file.exists(), "the flusher never reached the moment to be killed at"
        flusher.send_signal(signal.SIGKILL)
        flusher.wait(timeout=10)
    finally:
        if flusher.poll() is None:
            flusher.kill()
    committed = Impression.objects.count()
    assert committed == (700 if moment == "after_commit" else 0)
    assert events.buffered_count() == 2000  # nothing trimmed: the killed flusher had not got that far
    events.impressions_flush(batch=700)  # the next flush (after the dead one's lock expired)
    assert Impression.objects.count() == 2000
    assert set(Impression.objects.values_list("id", flat=True)) == set(ids)
    assert events.buffered_count() == 0


def test_a_value_with_tabs_backslashes_and_newlines_comes_out_of_the_buffer_as_it_went_in(buffer):
    campaign = make_campaign()
    odd = READER.__class__(reader_key="k\\ey", ip_prefix="203.0.113.0", browser_family="Odd\tBrowser\\1\nx",
                           os_family="")
    served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=odd, now=LATE)[0]
    events.impressions_flush()
    row = Impression.objects.get(id=served.impression_id)
    assert (row.browser_family, row.reader_key, row.os_family, row.keyword_id, row.viewable_at) == (
        "Odd\tBrowser\\1\nx", "k\\ey", "", campaign.keywords.get().id, None)
