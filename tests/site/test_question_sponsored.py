"""The sponsored block on the question page (ads.sponsored.sponsored_for_question): cards labelled
广告 / Sponsored naming the advertiser, in the page's aside beside (not inside) the answer, fed by
the question, the answer's text and vectors and its references, which are never sold; the cached
answer stays cached while the block is made per request."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from ads import auction
from ads.auction import FitModel
from ads.models import Advertiser, Campaign, CampaignKeyword, Impression, Promotion, Review
from ads.sponsored import sponsored_for_question
from contentlib.models import Answer, Article
from contentlib.readers import ad_day
from tests.site.test_questions import QUESTION, asked, library  # noqa: F401 - fixture

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


@pytest.fixture(autouse=True)
def _auction(monkeypatch, settings):
    """Relevance from the question's cosine alone (an article on the question's topic fits), the
    book re-read on every request, fresh rate-limit windows."""
    monkeypatch.setattr(auction, "tuned_fit", lambda: FitModel(coef=(-5.0, 10.0, 0.0), floor=0.5))
    settings.AD_AUCTION_BOOK_SECONDS = 0
    auction.book_forget()
    cache.clear()
    yield
    auction.book_forget()
    cache.clear()


def campaign_for(article: Article, *, advertiser: Advertiser | None = None, name: str = "") -> Campaign:
    """A funded CPC campaign on 仓储机器人 promoting `article` (owned by its advertiser)."""
    advertiser = advertiser or Advertiser.objects.create(name=name)
    assert advertiser.name
    Advertiser.objects.filter(id=advertiser.id).update(balance=Decimal("500.00"))
    Article.objects.filter(id=article.id).update(owner=advertiser)
    campaign = Campaign.objects.create(advertiser=advertiser, name=f"{advertiser.name} 推广", pricing="cpc",
                                       max_bid=Decimal("1.00"), daily_budget=Decimal("100.00"),
                                       total_budget=Decimal("400.00"), start_date=ad_day() - dt.timedelta(days=1),
                                       status=Campaign.Status.ACTIVE)
    CampaignKeyword.objects.create(campaign=campaign, text="仓储机器人", match_type="phrase", review=Review.APPROVED)
    Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
    return campaign


def question_page(question, language="zh-CN") -> str:
    response = Client().get(reverse("site:question_detail", args=[question.slug]), HTTP_USER_AGENT=CHROME,
                            HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_question_page_shows_labelled_cards_naming_the_advertiser_beside_the_answer(library):  # noqa: F811
    question = asked(QUESTION)
    rental = library["rental"]
    campaign = campaign_for(rental, advertiser=Advertiser.objects.get(name="机器人租赁公司"))
    answers = list(Answer.objects.filter(question=question).values_list("id", flat=True))

    html = question_page(question)

    main, aside = html.split('<aside class="qa-aside">', 1)
    assert "sponsored-card" not in main  # beside the organic content, never inside it
    assert aside.count('class="sponsored-card"') == 1
    assert '<span class="sponsored-label">广告</span>' in aside and '<span class="sponsored-advertiser">机器人租赁公司</span>' in aside
    assert rental.title in aside and 'href="/c/' in aside and 'data-beacon="/v/' in aside
    assert '<span class="sponsored-label">Sponsored</span>' in question_page(question, language="en")
    # Per request: two views, two served impressions; the cached answer neither rewritten nor changed.
    served = list(Impression.objects.values_list("placement__slug", "campaign_id", "invalid_reason"))
    assert served == [("question", campaign.id, "")] * 2
    assert list(Answer.objects.filter(question=question).values_list("id", flat=True)) == answers


@pytest.mark.django_db(transaction=True)
def test_an_answer_s_reference_is_never_sold_beside_it(library):  # noqa: F811
    """The citation firewall: an article the answer cites competes for no slot on its page, even
    when an advertiser has come to own and promote it since."""
    question = asked(QUESTION)
    answer = Answer.objects.get(question=question, status=Answer.Status.CURRENT)
    cited = Article.objects.get(id=answer.cited_article_ids[0])
    sold = campaign_for(cited, name="仓储设备公司")
    other = campaign_for(library["rental"], advertiser=Advertiser.objects.get(name="机器人租赁公司"))
    request = RequestFactory().get("/q/x", HTTP_USER_AGENT=CHROME)
    request.session = {}

    block = sponsored_for_question(request, question=question, answer=answer)

    assert [c.advertiser_name for c in block.cards] == ["机器人租赁公司"]
    assert not Impression.objects.filter(campaign=sold).exists()
    assert Impression.objects.filter(campaign=other).exists()

