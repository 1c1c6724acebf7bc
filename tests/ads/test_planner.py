"""The keyword planner (ads/planner.py, portal pages): suggestions from seeds, the advertiser's own
article and readers' searches; figures equal to what the raw log says; nothing of a competitor's
shown; bots and rare queries never suggested."""
import datetime as dt
import statistics
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils import timezone

from ads import planner
from ads.models import AuctionLog, Campaign, CampaignKeyword, Placement, Review
from contentlib.models import ArticleKeyword, Keyword
from recommender import activity, cooccurrence
from recommender.models import ReaderActivity

BOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


@pytest.fixture(autouse=True)
def _fresh_model():
    yield
    cooccurrence._loaded.update(model=None, checked=0.0)
    cache.clear()  # the search rate limit counted the bot test's searches


def _sessions(count, queries, prefix, *, days_ago=1):
    at = timezone.now() - dt.timedelta(days=days_ago)
    activity.activities_write([
        activity.activity_row(kind="search", reader_key=f"{prefix}{n}", at=at + dt.timedelta(minutes=m), query=q)
        for n in range(count) for m, q in enumerate(queries)])


def _traffic():
    _sessions(8, ["展览制作", "展台设计"], "r")
    _sessions(2, ["展览制作", "某人的私人搜索"], "p")  # two readers only: never shown to an advertiser
    _sessions(12, ["冷链物流", "报关"], "bg")
    _sessions(6, ["展览制作报价"], "x")
    _sessions(6, ["展台设计费用"], "y")
    _sessions(3, ["展台设计"], "old", days_ago=40)  # outside the 30 days
    cooccurrence.model_rebuild()


def _winners(keyword, advertisers, per_advertiser, *, pricing="cpc", price_of=lambda a, n: Decimal("1.00")):
    placement = Placement.objects.get_or_create(slug="search", defaults={"kind": "search"})[0]
    for advertiser in advertisers:
        for n in range(per_advertiser):
            AuctionLog.objects.create(placement=placement, question_text=keyword, ad_day=timezone.localdate(), floor=0.1,
                                      filled=1, winners=[{"slot": 1, "campaign": 1, "advertiser": advertiser,
                                                          "article": 1, "keyword": keyword, "pricing": pricing,
                                                          "bid": "9.99", "price": str(price_of(advertiser, n))}])


@pytest.mark.django_db
def test_seeds_bring_co_searched_and_close_queries_but_never_a_rare_one(company_a):
    _traffic()
    found = {s.keyword: s.source for s in planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign,
                                                               seeds="展览 制作")}
    assert found["展览制作"] == "seed"
    assert found["展台设计"] == "co_search"
    assert found["展览制作报价"] == "close"
    assert "某人的私人搜索" not in found and "报关" not in found
    assert "展台设计费用" not in found, "close to a neighbour, not to a seed"


@pytest.mark.django_db
def test_bot_searches_are_never_suggested(company_a, client):
    for n in range(10):
        for query in ("展览制作", "机器人搜的词"):
            client.get(reverse("site:search"), {"q": query}, HTTP_USER_AGENT=BOT, REMOTE_ADDR=f"10.1.{n}.1")
    activity.activity_flush()
    _traffic()
    found = [s.keyword for s in planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign,
                                                     seeds="展览制作")]
    assert "机器人搜的词" not in found


@pytest.mark.django_db
def test_an_article_of_the_advertiser_brings_its_extracted_keywords(company_a, company_b):
    article = company_a.approved
    ArticleKeyword.objects.filter(article=article).delete()
    for rank, text in enumerate(["冷链温控", "医药冷链"], start=1):
        ArticleKeyword.objects.create(article=article, keyword=Keyword.objects.get_or_create(text=text)[0],
                                      weight=1.0 / rank, rank=rank, method="test")
    found = planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign, article_id=article.id)
    assert [(s.keyword, s.source) for s in found][:2] == [("冷链温控", "article"), ("医药冷链", "article")]
    from django.utils import translation

    from contentlib.errors import ApplicationError

    with translation.override("en"):
        with pytest.raises(ApplicationError, match="There is no article"):
            planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign, article_id=company_b.approved.id)
        with pytest.raises(ApplicationError, match="Give at least one seed keyword"):
            planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign, seeds=" ，")


@pytest.mark.django_db
def test_the_figures_equal_a_recomputation_from_the_raw_log(company_a, company_b):
    _traffic()
    others = [9001, 9002, 9003, 9004, 9005]
    _winners("展台设计", others, 4, price_of=lambda a, n: Decimal("0.50") + Decimal(a - 9000) / 10 + Decimal(n) / 100)
    _winners("展台设计", [company_a.advertiser.id], 10, price_of=lambda a, n: Decimal("50.00"))  # its own: left out
    _winners("展台设计", others, 2, pricing="cpm", price_of=lambda a, n: Decimal("0.0300"))  # another pricing
    Campaign.objects.filter(id=company_b.campaign.id).update(status=Campaign.Status.ACTIVE)
    CampaignKeyword.objects.create(campaign=company_b.campaign, text="展台设计", match_type="exact", review=Review.APPROVED)
    CampaignKeyword.objects.create(campaign=company_b.campaign, text="展台设计", match_type="broad", review=Review.APPROVED)

    by_keyword = {s.keyword: s for s in planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign,
                                                             seeds="展览制作")}
    since = timezone.now() - dt.timedelta(days=30)
    for keyword, suggestion in by_keyword.items():
        searches = ReaderActivity.objects.filter(query=keyword, kind__in=["search", "question_ask"], at__gte=since).count()
        assert suggestion.daily_searches == round(searches / 30, 1), keyword
    assert by_keyword["展台设计"].daily_searches == round(8 / 30, 1)
    assert by_keyword["展台设计"].competing_campaigns == 1

    paid = sorted(float(w["price"]) for log in AuctionLog.objects.all() for w in log.winners
                  if w["keyword"] == "展台设计" and w["pricing"] == "cpc" and w["advertiser"] != company_a.advertiser.id)
    assert len(paid) == 20
    quantiles = statistics.quantiles(paid, n=100, method="inclusive")
    assert Decimal(by_keyword["展台设计"].bid_median) == Decimal(str(statistics.median(paid))).quantize(Decimal("0.01"))
    assert Decimal(by_keyword["展台设计"].bid_p80) == Decimal(str(quantiles[79])).quantize(Decimal("0.01"))
    assert by_keyword["展台设计"].auctions == 20


@pytest.mark.django_db
def test_no_bid_is_suggested_with_fewer_than_five_advertisers_or_twenty_auctions(company_a):
    _traffic()
    _winners("展台设计", [9001, 9002, 9003, 9004], 10)  # 40 auctions, four advertisers
    _winners("展览制作", [9001, 9002, 9003, 9004, 9005], 3)  # five advertisers, fifteen auctions
    by_keyword = {s.keyword: s for s in planner.keyword_plan(membership=company_a.member, campaign=company_a.campaign,
                                                             seeds="展览制作")}
    for keyword in ("展台设计", "展览制作"):
        assert (by_keyword[keyword].bid_median, by_keyword[keyword].bid_p80, by_keyword[keyword].auctions) == (None, None, 0)


@pytest.mark.django_db
def test_the_page_and_the_json_never_name_a_competitor_or_its_bid(client, company_a, company_b):
    _traffic()
    _winners("展台设计", [company_b.advertiser.id], 30, price_of=lambda a, n: Decimal("7.77"))
    Campaign.objects.filter(id=company_b.campaign.id).update(status=Campaign.Status.ACTIVE)
    CampaignKeyword.objects.create(campaign=company_b.campaign, text="展台设计", match_type="exact", review=Review.APPROVED,
                                   bid=Decimal("8.88"))
    client.force_login(company_a.member.user)
    page = client.get(reverse("portal:campaign_planner", args=[company_a.campaign.id]), {"seeds": "展览制作"}).content.decode()
    data = client.get(reverse("portal:campaign_planner_json", args=[company_a.campaign.id]), {"seeds": "展览制作"})
    assert data.status_code == 200 and "展台设计" in page
    body = data.content.decode()
    for secret in (company_b.advertiser.name, "7.77", "8.88", company_b.campaign.name):
        assert secret not in page.split("<main", 1)[-1] and secret not in body
    assert "数据不足" in page
    row = next(s for s in data.json()["suggestions"] if s["keyword"] == "展台设计")
    assert row["bid_median"] is None and row["competing_campaigns"] == 1


@pytest.mark.django_db
def test_a_suggestion_is_added_with_the_chosen_match_type_and_the_planner_says_so(client, company_a):
    _traffic()
    client.force_login(company_a.member.user)
    planner_url = reverse("portal:campaign_planner", args=[company_a.campaign.id]) + "?seeds=展览制作"
    response = client.post(reverse("portal:keywords_add", args=[company_a.campaign.id]),
                           {"lines": "展台设计", "match_type": "exact", "back": planner_url})
    assert response.status_code == 302 and response["Location"] == iri_to_uri(planner_url)
    keyword = company_a.campaign.keywords.get(text="展台设计")
    assert (keyword.match_type, keyword.review, keyword.negative) == ("exact", "pending", False)
    assert "已在此推广计划中" in client.get(planner_url).content.decode()
    elsewhere = client.post(reverse("portal:keywords_add", args=[company_a.campaign.id]),
                            {"lines": "报关", "match_type": "phrase", "back": "https://evil.example.com/"})
    assert elsewhere["Location"] == reverse("portal:campaign_detail", args=[company_a.campaign.id])


@pytest.mark.django_db
def test_a_reporter_reads_the_planner_without_add_buttons_and_another_companys_campaign_is_404(client, company_a, company_b):
    _traffic()
    client.force_login(company_a.reporter.user)
    url = reverse("portal:campaign_planner", args=[company_a.campaign.id])
    page = client.get(url, {"seeds": "展览制作"}).content.decode()
    assert "展台设计" in page and "planner-add" not in page
    assert client.get(reverse("portal:campaign_planner", args=[company_b.campaign.id]), {"seeds": "x"}).status_code == 404
    assert client.get(reverse("portal:campaign_planner_json", args=[company_b.campaign.id]), {"seeds": "x"}).status_code == 404
