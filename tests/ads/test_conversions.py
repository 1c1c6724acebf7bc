"""Conversions (ads/conversions.py, /conv/pixel.gif and /conv/postback): signed with the advertiser's
secret, once per click and goal, within the attribution window, rate-limited, attributed to the
click's campaign, keyword and placement."""
import datetime as dt
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from ads import conversions, events
from ads.models import Conversion
from tests.ads.tracking_helpers import READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


def a_click(campaign=None, at=None):
    campaign = campaign or make_campaign()
    at = at or timezone.now() - dt.timedelta(hours=1)
    served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER, now=at)[0]
    outcome = events.click_record(impression_id=served.impression_id, visitor=READER, at=at + 5 * SECOND)
    assert outcome.billed
    return campaign, outcome.click_id.hex


def signed(campaign, clid, goal="purchase", value="199.00"):
    secret = conversions.secret_get(advertiser_id=campaign.advertiser_id)
    return {"clid": clid, "goal": goal, "value": value,
            "sig": conversions.sign(secret=secret, click_id=clid, goal=goal, value=value)}


def test_a_signed_pixel_is_counted_and_attributed_to_the_clicks_campaign_keyword_and_placement(client):
    campaign, clid = a_click()
    response = client.get(reverse("conversion_pixel"), signed(campaign, clid))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response["X-Conversion"] == "accepted"
    conversion = Conversion.objects.get()
    assert conversion.campaign_id == campaign.id
    assert conversion.keyword_id == campaign.keywords.get().id
    assert conversion.placement_id == placement().id
    assert (conversion.goal, str(conversion.value), conversion.source) == ("purchase", "199.00", "pixel")
    assert conversion.click_key.hex == clid


def test_a_signed_postback_is_counted(client):
    campaign, clid = a_click()
    response = client.post(reverse("conversion_postback"), signed(campaign, clid), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["campaign"] == campaign.id
    assert Conversion.objects.get().source == "postback"


def test_a_forged_signature_is_refused(client):
    campaign, clid = a_click()
    data = signed(campaign, clid)
    data["value"] = "999.00"  # the amount changed after signing
    response = client.post(reverse("conversion_postback"), data, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "forged"
    other = make_campaign()  # signed with another advertiser's secret
    response = client.get(reverse("conversion_pixel"), signed(other, clid))
    assert (response.status_code, response["X-Conversion"]) == (403, "forged")
    assert not Conversion.objects.exists()


def test_a_rotated_secret_refuses_the_old_signatures(client):
    campaign, clid = a_click()
    data = signed(campaign, clid)
    conversions.secret_rotate(advertiser_id=campaign.advertiser_id)
    assert client.get(reverse("conversion_pixel"), data).status_code == 403


def test_a_replay_counts_once(client):
    campaign, clid = a_click()
    data = signed(campaign, clid)
    assert client.get(reverse("conversion_pixel"), data).status_code == 200
    replay = client.post(reverse("conversion_postback"), data, content_type="application/json")
    assert replay.status_code == 409 and replay.json()["code"] == "duplicate"
    assert Conversion.objects.count() == 1
    # Another goal of the same click is another conversion.
    assert client.get(reverse("conversion_pixel"), signed(campaign, clid, goal="signup", value="")).status_code == 200
    assert Conversion.objects.count() == 2


def test_an_unknown_click_is_refused(client):
    campaign, _clid = a_click()
    response = client.post(reverse("conversion_postback"), signed(campaign, uuid.uuid4().hex),
                           content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "unknown_click"
    assert client.get(reverse("conversion_pixel"), signed(campaign, "not-a-click")).status_code == 404
    assert not Conversion.objects.exists()


def test_a_click_older_than_the_attribution_window_is_refused(client, settings):
    settings.AD_ATTRIBUTION_DAYS = 30
    campaign, clid = a_click(at=timezone.now() - dt.timedelta(days=30, minutes=1))
    response = client.post(reverse("conversion_postback"), signed(campaign, clid), content_type="application/json")
    assert response.status_code == 410 and response.json()["code"] == "expired"
    assert not Conversion.objects.exists()
    recent_campaign, recent = a_click(at=timezone.now() - dt.timedelta(days=29, hours=23))
    assert client.get(reverse("conversion_pixel"), signed(recent_campaign, recent)).status_code == 200


def test_conversions_are_rate_limited_per_address(client, settings):
    settings.AD_CONVERSION_RATE_LIMIT = 2
    campaign, clid = a_click()
    for goal in ("a", "b"):
        assert client.get(reverse("conversion_pixel"), signed(campaign, clid, goal=goal)).status_code == 200
    response = client.post(reverse("conversion_postback"), signed(campaign, clid, goal="c"),
                           content_type="application/json")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert Conversion.objects.count() == 2


def test_refusals_say_what_to_do_in_chinese(client):
    campaign, clid = a_click()
    data = signed(campaign, clid)
    data["sig"] = "0" * 64
    response = client.post(reverse("conversion_postback"), data, content_type="application/json",
                           headers={"accept-language": "zh-hans"})
    assert "签名" in response.json()["error"]


def test_staff_see_conversions_with_their_click_in_admin_and_cannot_edit_them(client, staff):
    campaign, clid = a_click()
    client.get(reverse("conversion_pixel"), signed(campaign, clid))
    conversion = Conversion.objects.get()
    client.force_login(staff)
    page = client.get(reverse("admin:ads_conversion_changelist")).content.decode()
    assert campaign.name in page and "purchase" in page
    assert reverse("admin:ads_click_change", args=[conversion.click_id]) in page
    assert client.get(reverse("admin:ads_conversion_add")).status_code == 403
    assert client.post(reverse("admin:ads_conversion_delete", args=[conversion.id]), {"post": "yes"}).status_code == 403
    assert Conversion.objects.filter(id=conversion.id).exists()


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"clid": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_a_postback_nested_too_deep_is_refused_as_not_a_json_object(client, body):
    """Found by tests/site/test_hostile_requests.py: json.loads raised RecursionError, a 500."""
    response = client.generic("POST", reverse("conversion_postback"), body, content_type="application/json",
                              headers={"accept-language": "zh-hans"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "JSON" in response.json()["error"] and Conversion.objects.count() == 0
