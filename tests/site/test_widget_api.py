"""The sponsored part of /api/v1/recommendations for a widget placement: cards labelled 广告 /
Sponsored with the advertiser named, their impressions recorded on the placement the page's Origin
(else Referer) belongs to, with the same signed click and beacon links; CORS for the placement's
allowed domains only; every response as the OpenAPI description says; each placement rate-limited;
markup in the parameters and in a campaign's article returned as JSON text."""
import pytest
from django.test import Client

from ads.models import Advertiser, Click, Impression, Placement
from contentlib.models import Article
from tests.site.test_api import checked, openapi  # noqa: F401 - fixture
from tests.site.test_question_sponsored import CHROME, _auction, campaign_for  # noqa: F401 - fixture
from tests.site.test_questions import library  # noqa: F401 - fixture

URL = "/api/v1/recommendations"
Q = "仓储机器人多久能回本？"
HOST = "https://qa.host.example"


@pytest.fixture
def widget(library):  # noqa: F811
    campaign_for(library["rental"], advertiser=Advertiser.objects.get(name="机器人租赁公司"))
    return Placement.objects.create(slug="host-qa", kind=Placement.Kind.WIDGET, name="Host Q&A",
                                    allowed_domains=["host.example"])


def get(params, **headers):
    return Client().get(URL, params, HTTP_USER_AGENT=CHROME, **headers)


@pytest.mark.django_db(transaction=True)
def test_a_widget_on_its_host_gets_labelled_cards_tracked_on_its_placement(widget, openapi):  # noqa: F811
    response = checked(openapi, get({"q": Q, "answer": "大约两年半可以回本。", "placement": "host-qa"},
                                    HTTP_ORIGIN=HOST, HTTP_ACCEPT_LANGUAGE="zh-CN"))

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == HOST and "Origin" in response["Vary"]
    cards = response.json()["sponsored"]
    assert [(c["label"], c["label_text"], c["advertiser"]) for c in cards] == [("sponsored", "广告", "机器人租赁公司")]
    assert cards[0]["click_url"].startswith("http://testserver/c/")
    assert cards[0]["beacon_url"].startswith("http://testserver/v/")
    assert list(Impression.objects.values_list("placement__slug", "invalid_reason")) == [("host-qa", "")]
    english = get({"q": Q, "placement": "host-qa"}, HTTP_ORIGIN=HOST, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["sponsored"][0]["label_text"] == "Sponsored"
    # The click takes the widget's link as it takes the pages' (the beacon: tests/site/test_widget_browser.py).
    click = Client().get(cards[0]["click_url"].removeprefix("http://testserver"), HTTP_USER_AGENT=CHROME)
    assert click.status_code == 302
    assert list(Click.objects.values_list("placement__slug", flat=True)) == ["host-qa"]


@pytest.mark.django_db(transaction=True)
def test_the_referer_names_the_host_when_there_is_no_origin(widget):
    response = get({"q": Q, "placement": "host-qa"}, HTTP_REFERER="https://www.host.example/answers/42?x=1")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "https://www.host.example"
    assert Impression.objects.filter(placement=widget).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", ["https://evil.example", "https://nothost.example", "https://host.example.evil.com", ""])
def test_a_page_elsewhere_is_refused_with_no_cors_and_no_impression(widget, openapi, origin):  # noqa: F811
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    response = checked(openapi, get({"q": Q, "placement": "host-qa"}, HTTP_ACCEPT_LANGUAGE="en", **headers))
    assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response
    assert "allowed domains" in response.json()["error"]
    assert not Impression.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_unknown_or_non_widget_placement_is_named_in_the_error(widget, openapi):  # noqa: F811
    Placement.objects.create(slug="question-page", kind=Placement.Kind.QUESTION)
    for slug in ("no-such-host", "question-page"):
        response = checked(openapi, get({"q": Q, "placement": slug}, HTTP_ORIGIN=HOST))
        assert response.status_code == 404 and slug in response.json()["error"]
    assert not Placement.objects.filter(slug="no-such-host").exists()


@pytest.mark.django_db(transaction=True)
def test_each_placement_is_rate_limited_as_a_whole(widget, openapi, settings):  # noqa: F811
    settings.WIDGET_RATE_LIMIT_PER_MINUTE = 2
    for address in ("203.0.113.1", "203.0.113.2"):
        assert get({"q": Q, "placement": "host-qa"}, HTTP_ORIGIN=HOST, REMOTE_ADDR=address).status_code == 200
    refused = checked(openapi, get({"q": Q, "placement": "host-qa"}, HTTP_ORIGIN=HOST, REMOTE_ADDR="203.0.113.3",
                                   HTTP_ACCEPT_LANGUAGE="en"))
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "host-qa" in refused.json()["error"] and refused["Access-Control-Allow-Origin"] == HOST
    assert get({"q": Q}, REMOTE_ADDR="203.0.113.3").status_code == 200  # organic requests count apart


@pytest.mark.django_db(transaction=True)
def test_markup_in_the_parameters_and_a_campaign_s_article_comes_back_as_json_text(widget, library, openapi):  # noqa: F811
    hostile = "<img src=x onerror=alert(1)>"
    Article.objects.filter(id=library["rental"].id).update(title=f"仓储机器人租赁{hostile}")
    Advertiser.objects.filter(name="机器人租赁公司").update(name=f"机器人租赁公司{hostile}")
    response = checked(openapi, get({"q": f"{Q}{hostile}", "answer": "</script><script>alert(2)</script>",
                                     "placement": "host-qa"}, HTTP_ORIGIN=HOST))
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert data["query"] == f"{Q}{hostile}"  # text, for the widget to put in as text
    assert data["sponsored"][0]["advertiser"].endswith(hostile) and data["sponsored"][0]["title"].endswith(hostile)


@pytest.mark.django_db(transaction=True)
def test_the_refusal_is_in_chinese_by_default(widget):
    response = get({"q": Q, "placement": "host-qa"}, HTTP_ORIGIN="https://evil.example")
    assert "不允许在 https://evil.example 上展示" in response.json()["error"] and "允许域名" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("header", [{"HTTP_ORIGIN": "https://[::1"}, {"HTTP_REFERER": "https://[::1/answers/1"},
                                    {"HTTP_ORIGIN": "https://[::1", "HTTP_REFERER": "https://qa.host.example/a"}])
def test_an_origin_or_referer_that_is_not_a_url_is_an_unknown_origin_not_a_500(widget, openapi, header):  # noqa: F811
    """Found by the hostile-request sweep: urlsplit raised ValueError ("Invalid IPv6 URL") on a header
    the page's browser never sends but anyone can; such a header names no origin (the next one may)."""
    response = checked(openapi, get({"q": Q, "placement": "host-qa"}, HTTP_ACCEPT_LANGUAGE="zh-CN", **header))
    if "HTTP_REFERER" in header and header["HTTP_REFERER"].startswith("https://qa."):
        assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == HOST
    else:
        assert response.status_code == 403 and "来源不明" in response.json()["error"]
        assert not Impression.objects.exists()
