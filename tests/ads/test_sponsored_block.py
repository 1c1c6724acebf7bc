"""The sponsored block on the reader pages (ads.sponsored): the auction's winners as cards labelled
广告 / Sponsored that name the advertiser, each recorded as a served impression with the request's
traffic reason, with signed click and beacon links; never the page's own article; and a page that
never breaks for an ad."""
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.test import Client

from ads import auction
from ads.auction import FitModel
from ads.models import Advertiser, Campaign, CampaignKeyword, Impression, Promotion, Review
from contentlib.models import Article
from contentlib.readers import ad_day
from recommender.embeddings import to_bytes

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
FITS = np.array([1, 0, 0, 0], dtype=np.float32)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fit_model(monkeypatch, settings):
    """Relevance from the cosine alone (as tests/ads/test_auction.py): an article on FITS fits."""
    monkeypatch.setattr(auction, "tuned_fit", lambda: FitModel(coef=(-5.0, 10.0, 0.0), floor=0.5))
    settings.AD_AUCTION_BOOK_SECONDS = 0
    auction.book_forget()
    yield
    auction.book_forget()


def advertiser_with_campaign(name: str, *, bid="1.00", article=None) -> Campaign:
    advertiser = Advertiser.objects.create(name=name, balance=Decimal("500.00"))
    article = article or Article.objects.create(
        title=f"{name}：展台设计方案", text="展台设计与搭建", summary="展台设计、搭建与运输一站式服务。",
        origin=Article.Origin.SUBMITTED, owner=advertiser, status=Article.Status.APPROVED, embedding=to_bytes(FITS),
        tokens="展台 设计 搭建", language="zh")
    if article.owner_id is None:
        Article.objects.filter(id=article.id).update(owner=advertiser)
    campaign = Campaign.objects.create(advertiser=advertiser, name=f"{name} 推广", pricing="cpc", max_bid=Decimal(bid),
                                       daily_budget=Decimal("100.00"), total_budget=Decimal("400.00"),
                                       start_date=ad_day() - dt.timedelta(days=1), status=Campaign.Status.ACTIVE)
    CampaignKeyword.objects.create(campaign=campaign, text="展台设计", match_type="phrase", review=Review.APPROVED)
    Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
    return campaign


@pytest.fixture
def page():
    return Article.objects.create(title="展台设计多少钱", text="展台设计的费用由面积、材料和搭建方式决定。" * 5,
                                  summary="展台设计的费用", origin=Article.Origin.CRAWLED,
                                  status=Article.Status.APPROVED, embedding=to_bytes(FITS), tokens="展台 设计 多少 钱",
                                  language="zh")


def get(url, agent=CHROME):
    return Client().get(url, HTTP_USER_AGENT=agent, HTTP_ACCEPT_LANGUAGE="zh-CN")


def test_the_article_page_shows_labelled_cards_that_name_their_advertisers(page):
    advertiser_with_campaign("上海展览公司", bid="2.00")
    advertiser_with_campaign("苏州会展公司", bid="1.50")
    html = get(f"/articles/{page.id}/").content.decode()
    assert html.count('class="sponsored-card"') == 2
    assert html.count('<span class="sponsored-label">广告</span>') == 2
    assert "上海展览公司" in html and "苏州会展公司" in html
    assert "ads/sponsored.js" in html and 'href="/c/' in html and 'data-beacon="/v/' in html
    served = list(Impression.objects.order_by("position").values_list("placement__slug", "position", "invalid_reason"))
    assert served == [("article", 1, ""), ("article", 2, "")]


def test_english_readers_see_sponsored(page):
    advertiser_with_campaign("上海展览公司")
    html = Client().get(f"/articles/{page.id}/", HTTP_USER_AGENT=CHROME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="sponsored-label">Sponsored</span>' in html


def test_the_page_s_own_article_is_never_sold_on_it(page):
    own = advertiser_with_campaign("上海展览公司", article=page)
    other = advertiser_with_campaign("苏州会展公司")
    html = get(f"/articles/{page.id}/").content.decode()
    assert html.count('class="sponsored-card"') == 1 and "苏州会展公司" in html
    assert not Impression.objects.filter(campaign=own).exists() and Impression.objects.filter(campaign=other).exists()


def test_a_bot_s_impression_is_recorded_with_its_reason(page):
    advertiser_with_campaign("上海展览公司")
    assert 'class="sponsored-card"' in get(f"/articles/{page.id}/", agent=GOOGLEBOT).content.decode()
    assert list(Impression.objects.values_list("invalid_reason", flat=True)) == ["bot"]


def test_the_search_page_shows_the_block_for_the_query(monkeypatch):
    from recommender import retrieval

    advertiser_with_campaign("上海展览公司")
    seen = {}

    def retrieve(query, k=10):
        seen["query"] = query
        return retrieval.RetrievalResult(language="zh", nothing_fits=True, query_vector=FITS)

    monkeypatch.setattr(retrieval, "retrieve", retrieve)
    html = get("/search/?q=展台设计多少钱").content.decode()
    assert seen["query"] == "展台设计多少钱"
    assert html.count('class="sponsored-card"') == 1 and "上海展览公司" in html
    assert list(Impression.objects.values_list("placement__slug", flat=True)) == ["search"]
    assert 'class="sponsored-card"' not in get("/search/").content.decode()  # no query, no auction


def test_nothing_that_fits_shows_no_block(page):
    campaign = advertiser_with_campaign("上海展览公司")
    Article.objects.filter(promotions__campaign=campaign).update(embedding=to_bytes(np.array([0, 1, 0, 0], dtype=np.float32)))
    html = get(f"/articles/{page.id}/").content.decode()
    assert "sponsored" not in html and not Impression.objects.exists()


def test_a_failing_auction_never_breaks_the_page(page, monkeypatch, caplog):
    advertiser_with_campaign("上海展览公司")

    def broken(**kwargs):
        raise RuntimeError("the campaign book is unreadable")

    monkeypatch.setattr(auction, "placement_auction", broken)
    response = get(f"/articles/{page.id}/")
    assert response.status_code == 200 and "sponsored-card" not in response.content.decode()
    assert "the sponsored block on article failed" in caplog.text


def _block_queries(url):
    """The tables the sponsored block read on one view of `url` (the page's own reads left out)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        html = get(url).content.decode()
    reads = [q["sql"] for q in captured.captured_queries]
    return html, {"placement": sum('FROM "ads_placement"' in sql for sql in reads),
                  "summaries": sum('"contentlib_article"."summary" AS "summary"' in sql and '"premium"' in sql
                                   for sql in reads)}


def test_the_block_keeps_its_placement_and_card_summaries_for_the_book_s_seconds(page, settings):
    settings.AD_AUCTION_BOOK_SECONDS = 60
    advertiser_with_campaign("上海展览公司")
    html, reads = _block_queries(f"/articles/{page.id}/")
    assert "展台设计、搭建与运输一站式服务。" in html and reads == {"placement": 1, "summaries": 1}
    html, reads = _block_queries(f"/articles/{page.id}/")
    assert "展台设计、搭建与运输一站式服务。" in html and reads == {"placement": 0, "summaries": 0}
    settings.AD_AUCTION_BOOK_SECONDS = 0  # stale at once: read again
    assert _block_queries(f"/articles/{page.id}/")[1] == {"placement": 1, "summaries": 1}


def test_a_placement_or_summary_saved_in_this_process_shows_at_once(page, settings):
    from ads.models import Placement

    settings.AD_AUCTION_BOOK_SECONDS = 60
    campaign = advertiser_with_campaign("上海展览公司")
    assert "展台设计、搭建与运输一站式服务。" in get(f"/articles/{page.id}/").content.decode()
    promoted = Article.objects.get(promotions__campaign=campaign)
    promoted.summary = "新的摘要：三天完成展台搭建。"
    promoted.save()
    html = get(f"/articles/{page.id}/").content.decode()
    assert "新的摘要：三天完成展台搭建。" in html and "一站式服务" not in html
    promoted.premium = True  # members' text: its card shows no summary
    promoted.save()
    html = get(f"/articles/{page.id}/").content.decode()
    assert 'class="sponsored-card"' in html and "新的摘要" not in html
    placement = Placement.objects.get(slug="article")
    placement.active = False
    placement.save()
    assert 'class="sponsored-card"' not in get(f"/articles/{page.id}/").content.decode()
