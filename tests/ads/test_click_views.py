"""The click redirect (/c/<token>) and the viewability beacon (/v/<token>), through the test client:
a bad token is never charged and still lands on the article, a repeat click is billed once, the
destination never comes from the request, staff alone see the reason, no tracking cookie."""
import datetime as dt
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from ads import events, tracking
from ads.auction import AuctionResult, Slot
from ads.events import Visitor
from ads.models import Campaign, Click, Impression, LedgerEntry, Placement, Promotion, Review
from ads.traffic import Agent

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
PRICE = Decimal("0.80")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # the per-IP click counters
    yield
    cache.clear()


@pytest.fixture
def running(company_a):
    """Company A's campaign approved and running, its promotion approved."""
    Campaign.objects.filter(id=company_a.campaign.id).update(status=Campaign.Status.ACTIVE)
    Promotion.objects.filter(campaign=company_a.campaign).update(review=Review.APPROVED)
    company_a.campaign.refresh_from_db()
    return company_a


def serve(company, *, ago: float = 5.0, agent: str = CHROME, reason: str = "") -> events.ServedImpression:
    """One impression of the company's promotion, served `ago` seconds ago to a reader with `agent`."""
    from ads.traffic import agent_of

    campaign = company.campaign
    promotion = campaign.promotions.get()
    keyword = campaign.keywords.filter(negative=False).first()
    slot = Slot(position=1, campaign_id=campaign.id, campaign_name=campaign.name, advertiser_id=campaign.advertiser_id,
                advertiser_name=company.advertiser.name, article_id=promotion.article_id, promotion_id=promotion.id,
                title=promotion.article.title, pricing=campaign.pricing, bid=campaign.max_bid, price=PRICE, score=1.0,
                relevance=0.9, keyword=keyword.text, keyword_id=keyword.id)
    families = agent_of(agent)
    visitor = Visitor(reader_key="reader-1", ip_prefix="203.0.113.0", browser_family=families.browser_family,
                      os_family=families.os_family, invalid_reason=reason)
    return events.impressions_serve(result=AuctionResult(slots=[slot]), placement=Placement.objects.get(slug="question"),
                                    visitor=visitor, now=timezone.now() - dt.timedelta(seconds=ago))[0]


def click_url(served) -> str:
    token = tracking.click_token(impression_id=served.impression_id, served_at=served.served_at,
                                 agent=Agent(served.browser_family, served.os_family))
    return f"/c/{token}"


def get(url, *, client=None, agent=CHROME, ip="203.0.113.7", **extra):
    return (client or Client()).get(url, HTTP_USER_AGENT=agent, REMOTE_ADDR=ip, **extra)


def charges(company):
    return LedgerEntry.objects.filter(advertiser=company.advertiser, kind=LedgerEntry.Kind.CHARGE)


def last_click() -> Click:
    return Click.objects.order_by("-at").first()


def article_page(company) -> str:
    return f"/articles/{company.campaign.promotions.get().article_id}/"


def test_a_click_is_billed_once_and_lands_on_the_article_page(running):
    served = serve(running)
    running.advertiser.refresh_from_db()
    balance = running.advertiser.balance
    response = get(click_url(served))
    assert response.status_code == 302 and response["Location"] == article_page(running)
    click = last_click()
    assert click.billed and click.reason == "" and click.impression_id == served.impression_id
    (charge,) = charges(running)
    assert charge.amount == -PRICE and charge.campaign_id == running.campaign.id
    running.advertiser.refresh_from_db()
    assert running.advertiser.balance == balance - PRICE
    assert "X-Click-Reason" not in response  # a reader is told nothing


def test_no_cookie_is_set_by_a_click_or_a_beacon(running):
    served = serve(running)
    assert get(click_url(served)).cookies == {}
    beacon = f"/v/{tracking.beacon_token(impression_id=served.impression_id)}"
    assert Client().post(beacon, HTTP_USER_AGENT=CHROME).cookies == {}


def test_a_repeat_click_on_one_impression_is_billed_once(running):
    served = serve(running)
    url = click_url(served)
    first = get(url, ip="203.0.113.7")
    second = get(url, ip="198.51.100.9")  # another address: the IP limit is not what stops it
    assert first["Location"] == second["Location"] == article_page(running)
    assert Click.objects.filter(impression_id=served.impression_id).count() == 2
    assert list(Click.objects.filter(billed=False).values_list("reason", flat=True)) == ["repeat"]
    assert charges(running).count() == 1


@pytest.mark.parametrize("spoil,reason", [
    (lambda url: url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb"), "token_tampered"),
    (lambda url: url[:-8], "token_tampered"),
])
def test_a_tampered_token_is_never_charged_and_still_reaches_the_sponsored_article(running, spoil, reason):
    served = serve(running)
    response = get(spoil(click_url(served)))
    assert response.status_code == 302 and response["Location"] == article_page(running)
    assert last_click().reason == reason and not last_click().billed
    assert not charges(running).exists()


def test_an_expired_token_is_never_charged_and_still_reaches_the_article(running, monkeypatch):
    served = serve(running)
    url = click_url(served)
    later = timezone.now().timestamp() + 2 * 3600 + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = get(url)
    assert response["Location"] == article_page(running)
    assert last_click().reason == "token_expired" and not charges(running).exists()


def test_a_good_token_for_an_impression_never_served_goes_home_unbilled(running):
    token = tracking.click_token(impression_id=uuid.uuid4(), served_at=timezone.now() - dt.timedelta(seconds=5),
                                 agent=Agent("Chrome", "Windows"))
    response = get(f"/c/{token}")
    assert response.status_code == 302 and response["Location"] == "/"
    assert last_click().reason in ("token_unknown", "not_served") and not charges(running).exists()


def test_garbage_is_a_redirect_home_too(db):
    response = get("/c/not-a-token-at-all")
    assert response.status_code == 302 and response["Location"] == "/"


def test_invalid_traffic_is_recorded_with_its_reason_and_never_billed(running):
    assert get(click_url(serve(running, ago=0.0)))["Location"] == article_page(running)  # at once: too fast
    assert last_click().reason == "too_fast"
    get(click_url(serve(running)), agent=FIREFOX, ip="198.51.100.1")
    assert last_click().reason == "browser_mismatch"
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    get(click_url(serve(running, agent=googlebot)), agent=googlebot, ip="198.51.100.2")
    assert last_click().reason == "bot"
    get(click_url(serve(running)), ip="198.51.100.3", HTTP_SEC_PURPOSE="prefetch")
    assert last_click().reason == "prefetch"
    get(click_url(serve(running, reason="preview")), ip="198.51.100.4")
    assert last_click().reason == "preview"  # the impression was a portal preview: so is its click
    get(click_url(serve(running)), ip="198.51.100.5")
    get(click_url(serve(running)), ip="198.51.100.5")  # a second click from one address within the minute
    assert last_click().reason == "ip_limit"
    assert charges(running).count() == 1  # the one valid click among them
    from recommender import activity  # noqa: PLC0415
    from recommender.models import ReaderActivity  # noqa: PLC0415

    activity.activity_flush()  # only that one reaches the reader activity log
    assert list(ReaderActivity.objects.values_list("kind", "article_id")) == [
        ("sponsored_click", running.campaign.promotions.get().article_id)]


def test_staff_and_enterprise_clicks_are_not_billed_and_only_staff_see_the_reason(running):
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("editor-1", is_staff=True))
    response = get(click_url(serve(running)), client=staff)
    assert response["X-Click-Reason"] == "staff" and response["Location"] == article_page(running)
    member = Client()
    member.force_login(running.member.user)
    response = get(click_url(serve(running)), client=member, ip="198.51.100.6")
    assert last_click().reason == "enterprise" and "X-Click-Reason" not in response
    assert not charges(running).exists()
    response = get(click_url(serve(running)), client=staff, ip="198.51.100.7")
    assert response["X-Click-Reason"] == "staff"


def test_the_verified_landing_url_gets_the_click_id_and_utm_parameters(running):
    domain = running.advertiser.domains.get()
    domain.verified_at = timezone.now()
    domain.save()
    Promotion.objects.filter(campaign=running.campaign).update(landing_url="https://a.example.com/offer?utm_source=own&x=1")
    response = get(click_url(serve(running)) + "?next=https://evil.example.net/")
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "a.example.com", "/offer")
    query = parse_qs(location.query)
    assert query["utm_source"] == ["own"]  # the advertiser's own parameter stays
    assert query["x"] == ["1"] and query["utm_medium"] == ["cpc"] and query["utm_campaign"] == [running.campaign.name]
    assert query["clid"] == [last_click().id.hex] and last_click().billed
    # Once the domain is no longer verified, the click opens the article here instead.
    domain.verified_at = None
    domain.save()
    assert get(click_url(serve(running)), ip="198.51.100.8")["Location"] == article_page(running)


def test_a_tampered_token_never_goes_to_the_landing_url(running):
    domain = running.advertiser.domains.get()
    domain.verified_at = timezone.now()
    domain.save()
    Promotion.objects.filter(campaign=running.campaign).update(landing_url="https://a.example.com/offer")
    assert get(click_url(serve(running))[:-4])["Location"] == article_page(running)


# --- the viewability beacon -------------------------------------------------------------------

def beacon(served, client=None):
    token = tracking.beacon_token(impression_id=served.impression_id)
    return (client or Client(enforce_csrf_checks=True)).post(f"/v/{token}", HTTP_USER_AGENT=CHROME)


def test_a_beacon_is_accepted_once_for_a_served_impression_without_a_csrf_token(running):
    served = serve(running, ago=2.0)
    first, second = beacon(served), beacon(served)
    assert (first.status_code, first.json()["result"]) == (202, "accepted")
    assert (second.status_code, second.json()["result"]) == (409, "duplicate")
    assert Impression.objects.get(id=served.impression_id).viewable_at is not None


def test_a_beacon_sooner_than_a_second_after_serving_changes_nothing(running):
    served = serve(running, ago=0.0)
    response = beacon(served)
    assert (response.status_code, response.json()["result"]) == (425, "too_early")
    assert Impression.objects.get(id=served.impression_id).viewable_at is None


def test_a_beacon_for_an_unknown_impression_or_with_a_bad_token_changes_nothing(running):
    unknown = Client().post(f"/v/{tracking.beacon_token(impression_id=uuid.uuid4())}")
    assert (unknown.status_code, unknown.json()["result"]) == (404, "unknown")
    served = serve(running, ago=2.0)
    bad = Client().post(f"/v/{tracking.beacon_token(impression_id=served.impression_id)[:-3]}xyz")
    assert bad.status_code == 400 and bad.json()["result"] == "token_tampered"
    click_token_as_beacon = Client().post(click_url(served).replace("/c/", "/v/"))
    assert click_token_as_beacon.status_code == 400
    assert Client().get(f"/v/{tracking.beacon_token(impression_id=served.impression_id)}").status_code == 405
    assert Impression.objects.get(id=served.impression_id).viewable_at is None


def test_the_click_redirect_takes_the_short_way_through_the_middleware_with_its_security_headers(running):
    """ads.middleware.ClickRedirectMiddleware serves /c/<token> after the session and the user: the
    security headers stay (the landing page sees the Referrer-Policy), the body-less redirect gets
    no CSP; any other /c/ path, and the beacon, go the whole way."""
    response = get(click_url(serve(running)))
    assert response.status_code == 302 and response["Location"] == article_page(running)
    assert response["Referrer-Policy"] == "same-origin" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("max-age=0") and "Content-Security-Policy" not in response
    assert last_click().billed
    not_a_click = get("/c/")
    assert not_a_click.status_code == 404 and "Content-Security-Policy" in not_a_click
    beacon = Client().post(f"/v/{tracking.beacon_token(impression_id=uuid.uuid4())}")
    assert "Content-Security-Policy" in beacon


@pytest.mark.parametrize(("language", "heading"), [("en", "Something went wrong"), ("zh-CN", "出错了")])
def test_a_click_that_fails_shows_the_error_page_in_the_readers_language(running, monkeypatch, language, heading):
    """The short way skips the locale middleware: a failing click (the database down) must still
    answer in the language the reader's browser asks for, like every other page's error."""
    def down(**kwargs):
        raise RuntimeError("the database is down")

    monkeypatch.setattr(events, "click_record", down)
    client = Client(raise_request_exception=False)
    response = client.get(click_url(serve(running)), HTTP_USER_AGENT=CHROME, REMOTE_ADDR="203.0.113.7",
                          HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 500
    assert heading in response.content.decode()
