"""The signed click and beacon tokens (ads/tracking.py): good, tampered, expired, and never each other."""
import datetime as dt
import uuid

import pytest
from django.core import signing

from ads import tracking
from ads.traffic import Agent

CHROME = Agent("Chrome", "Windows")
IMPRESSION = uuid.UUID("8d3c1a52-6b0e-4c8e-9d3f-2f1a7e5b9c01")


def token(served_at=None):
    return tracking.click_token(impression_id=IMPRESSION, served_at=served_at or dt.datetime.now(dt.timezone.utc),
                                agent=CHROME)


def test_a_good_token_names_its_impression_when_it_was_served_and_its_browser():
    served = dt.datetime.now(dt.timezone.utc)
    claim = tracking.click_token_read(token(served))
    assert claim.problem == ""
    assert claim.impression_id == IMPRESSION and claim.agent == CHROME
    assert abs((claim.served_at - served).total_seconds()) < 0.01


@pytest.mark.parametrize("change", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature edited
    lambda t: t[:-6],  # cut short
    lambda t: t.replace(t.split(":")[0], signing.b64_encode(b'{"i":"00000000000000000000000000000001","t":1}').decode()),
    lambda t: "not-a-token",
    lambda t: "",
])
def test_a_tampered_token_is_refused(change):
    assert tracking.click_token_read(change(token())).problem == "token_tampered"


def test_a_token_cut_short_still_names_the_impression_it_seemed_to_be_for():
    """So that the reader reaches that sponsored article's page (read from the database), unbilled."""
    claim = tracking.click_token_read(token()[:-6])
    assert claim.problem == "token_tampered" and claim.impression_id == IMPRESSION


def test_a_token_signed_under_another_salt_or_key_is_tampered(settings):
    other = signing.dumps({"i": IMPRESSION.hex, "t": 1.0, "b": "Chrome", "o": "Windows"}, salt="ads.tracking.beacon")
    assert tracking.click_token_read(other).problem == "token_tampered"
    good = token()
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert tracking.click_token_read(good).problem == "token_tampered"


def test_a_token_expires_two_hours_after_serving(settings, monkeypatch):
    made = token()
    assert settings.AD_CLICK_TOKEN_SECONDS == 7200
    later = __import__("time").time() + 7201
    monkeypatch.setattr(signing.time, "time", lambda: later)
    claim = tracking.click_token_read(made)
    assert claim.problem == "token_expired" and claim.impression_id == IMPRESSION
    monkeypatch.setattr(signing.time, "time", lambda: later - 2)
    assert tracking.click_token_read(made).problem == ""


def test_the_beacon_token_is_not_a_click_token_and_both_are_checked(monkeypatch):
    beacon = tracking.beacon_token(impression_id=IMPRESSION)
    assert tracking.beacon_token_read(beacon) == (IMPRESSION, "")
    assert tracking.click_token_read(beacon).problem == "token_tampered"
    assert tracking.beacon_token_read(token())[1] == "token_tampered"
    assert tracking.beacon_token_read(beacon[:-2] + "xx")[1] == "token_tampered"
    later = __import__("time").time() + 7201
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert tracking.beacon_token_read(beacon) == (None, "token_expired")


@pytest.mark.django_db
@pytest.mark.parametrize("compress", [False, True])
def test_a_forged_token_whose_payload_nests_thousands_deep_is_tampered(client, compress):
    """Found by the hostile-request sweep: reading a forged token's unsigned payload raised RecursionError (a
    500 on /c/). It is a tampered click, recorded as such like any other."""
    import base64  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    payload = b"[" * 4000 + b"]" * 4000
    body = base64.urlsafe_b64encode(zlib.compress(payload) if compress else payload).decode().rstrip("=")
    forged = ("." if compress else "") + body + ":1abcde:" + "x" * 43
    assert tracking.click_token_read(forged).problem == tracking.TOKEN_TAMPERED
    assert client.get(f"/c/{forged}").status_code < 500
