"""Signed links used where they do not belong: each kind of token (click, beacon, invitation, sign-up
confirmation, password reset), whole, cut short or with a character changed, at every other kind's URL.
Each is refused with no 5xx and changes nothing: no click billed, no beacon counted, no user joined or
activated, no password changed."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ads import events, tracking
from ads import services as ads_services
from ads.models import AdvertiserUser, Click, Impression
from contentlib import services as library
from tests.ads.conftest import _fast_passwords, make_company, staff  # noqa: F401 - fixtures
from tests.ads.tracking_helpers import READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def variants(token: str) -> list[str]:
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")
    return [token, token[: len(token) // 2], changed]


@pytest.fixture
def tokens(staff):
    company = make_company("A", staff=staff)
    served = events.impressions_serve(result=result_for(make_campaign()), placement=placement(), visitor=READER,
                                      now=timezone.now() - dt.timedelta(seconds=5))[0]
    impression = Impression.objects.get(id=served.impression_id)
    reader, confirm = library.reader_signup(email="new-reader@example.com", password="a-long-reader-password")
    victim = company.member.user
    return {
        "click": tracking.click_token(impression_id=impression.id, served_at=impression.served_at,
                                      agent=tracking.Agent("Chrome", "Windows")),
        "beacon": tracking.beacon_token(impression_id=impression.id),
        "invitation": ads_services.invitation_make(membership=company.owner, email="x@example.com", role="member"),
        "confirm": confirm,
        "reset": default_token_generator.make_token(victim),
        "uid": urlsafe_base64_encode(force_bytes(victim.pk)),
        "reader": reader, "victim": victim,
    }


def endpoints(kind: str, token: str, uid: str) -> list[tuple[str, str]]:
    """(method, URL) of every token endpoint but the token's own."""
    urls = {"click": [("get", f"/c/{token}")], "beacon": [("post", f"/v/{token}")],
            "invitation": [("get", f"/portal/invitations/{token}/"), ("post", f"/portal/invitations/{token}/")],
            "confirm": [("get", f"/accounts/confirm/{token}/")],
            "reset": [("get", f"/accounts/reset/{uid}/{token}/"), ("get", f"/portal/password/reset/{uid}/{token}/")]}
    return [pair for other, pairs in urls.items() if other != kind for pair in pairs]


def test_a_token_at_another_kinds_url_is_refused_and_changes_nothing(tokens):
    victim, reader = tokens["victim"], tokens["reader"]
    password, members = victim.password, AdvertiserUser.objects.count()
    failures = []
    for kind in ("click", "beacon", "invitation", "confirm", "reset"):
        for token in variants(tokens[kind]):
            for method, url in endpoints(kind, token, tokens["uid"]):
                client = Client(HTTP_USER_AGENT=CHROME)
                response = getattr(client, method)(url, {"username": "intruder", "password1": "Xx-long-pass-1",
                                                         "password2": "Xx-long-pass-1"} if method == "post" else None)
                if response.status_code >= 500:
                    failures.append(f"{kind} at {method} {url[:60]}: {response.status_code}")
                if response.status_code == 302 and "/set-password/" in response["Location"]:
                    failures.append(f"{kind} at {url[:60]} opened the password form")
    assert not failures, "\n".join(failures)
    assert not Click.objects.filter(billed=True).exists()
    assert not Impression.objects.filter(viewable_at__isnull=False).exists()
    assert AdvertiserUser.objects.count() == members and not get_user_model().objects.filter(username="intruder").exists()
    reader.refresh_from_db()
    victim.refresh_from_db()
    assert not reader.is_active and victim.password == password


def test_a_cut_or_changed_link_says_what_to_do_in_chinese(tokens):
    client = Client(headers={"accept-language": "zh-hans"})
    for token in variants(tokens["invitation"])[1:]:
        response = client.get(f"/portal/invitations/{token}/")
        assert response.status_code == 400 and "邀请" in response.content.decode()
    for token in variants(tokens["confirm"])[1:]:
        response = client.get(f"/accounts/confirm/{token}/")
        assert response.status_code == 400 and "链接" in response.content.decode()
    tokens["reader"].refresh_from_db()
    assert not tokens["reader"].is_active
