"""'Why was this campaign not shown': the admin page, the portal page (own campaigns only, no
competitor named), and the auction and auction_explain commands."""
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from ads.models import AdvertiserUser, AuctionLog
from recommender.answers import services as answers
from recommender.embeddings import to_bytes
from tests.ads.conftest import PASSWORD
from tests.ads.test_auction import FITS, _fit_model, make_campaign, placement  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


asks = []  # count_ask of every answer_question call: an advertiser's or operator's look-up is never an ask


@pytest.fixture(autouse=True)
def _stored_answer(monkeypatch):
    asks.clear()
    """answer_question without the model: a stored answer with the question's vector on FITS."""
    def answer_question(*, question_text, provider=None, on_delta=None, count_ask=True):
        asks.append(count_ask)
        question = SimpleNamespace(text=question_text, vector=to_bytes(FITS), pk=None)
        return SimpleNamespace(question=question, text="先确定展台设计，再报馆。", vector=None, cited_article_ids=[],
                               provider="extractive")
    monkeypatch.setattr(answers, "answer_question", answer_question)


def portal_user(campaign):
    user = get_user_model().objects.create_user(username=f"u{campaign.id}", password=PASSWORD)
    AdvertiserUser.objects.create(user=user, advertiser=campaign.advertiser, role="reporter")
    return user


def test_the_portal_explains_an_own_campaign_without_naming_the_competitor(client, placement):
    make_campaign(bid="3.00", name="对手A的推广")
    make_campaign(bid="2.00", name="对手B的推广")
    mine = make_campaign(bid="1.00", name="我的推广")
    client.force_login(portal_user(mine))
    page = client.get(reverse("portal:campaign_why", args=[mine.id]), {"question": "展台设计多少钱"}).content.decode()
    assert "未展示" in page or "Not shown" in page
    assert "对手" not in page and "展览公司" not in page.replace(mine.advertiser.name, "")
    assert asks == [False]


def test_the_portal_refuses_another_advertisers_campaign(client, placement):
    other = make_campaign(name="别人的推广")
    mine = make_campaign()
    client.force_login(portal_user(mine))
    assert client.get(reverse("portal:campaign_why", args=[other.id]), {"question": "展台设计"}).status_code == 404


def test_the_admin_page_says_why(client, placement):
    staff = get_user_model().objects.create_superuser("staff", "s@example.com", PASSWORD)
    paused = make_campaign(status="paused")
    client.force_login(staff)
    page = client.get(reverse("admin:ads_campaign_why", args=[paused.id]), {"question": "展台设计多少钱"})
    assert page.status_code == 200 and "暂停" in page.content.decode()
    assert asks == [False]


def test_auction_command_prints_slots_labelled_with_the_advertiser(placement):
    winner = make_campaign(bid="2.00")
    out = StringIO()
    call_command("auction", "展台设计多少钱", stdout=out)
    text = out.getvalue()
    assert "广告 / Sponsored" in text and winner.advertiser.name in text and "pays 0.30 CNY per click" in text
    assert AuctionLog.objects.count() == 1
    assert asks == [False]


def test_auction_explain_command_names_the_reason(placement):
    campaign = make_campaign(negatives=["多少钱"])
    out = StringIO()
    call_command("auction_explain", str(campaign.id), "展台设计多少钱", stdout=out)
    assert "negative_keyword" in out.getvalue()
