"""The sponsored block on the home page, the article list and the page that waits for an answer,
each through its own Placement (ads.sponsored.sponsored_for_home, _for_article_list, _for_ask_wait):
filled, labelled 广告 / Sponsored with the advertiser named, when a fitting campaign exists; empty
otherwise; every card a served impression on that page's placement. The Ask form shows none."""
import pytest
from django.test import Client
from django.urls import reverse

from ads.models import Advertiser, Impression, Placement
from contentlib import services
from contentlib.models import Article, Category
from tests.site.test_question_sponsored import CHROME, _auction, campaign_for  # noqa: F401 - fixture
from tests.site.test_questions import QUESTION, asked, library  # noqa: F401 - fixture

LABEL = '<span class="sponsored-label">广告</span>'


def get(client: Client, path: str) -> str:
    response = client.get(path, HTTP_USER_AGENT=CHROME, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def aside(html: str) -> str:
    """The page's aside, where the sponsored block sits apart from the organic content."""
    return html.split('<aside class="qa-aside">', 1)[1]


def rental_campaign(library):  # noqa: F811
    return campaign_for(library["rental"], advertiser=Advertiser.objects.get(name="机器人租赁公司"))


@pytest.mark.django_db
def test_every_page_type_with_a_block_has_its_placement_row():
    """Created by the migrations (0010), as the question page's was: an editor sets their slots and
    reserves in admin before the first reader comes."""
    rows = dict(Placement.objects.values_list("slug", "kind"))
    for slug in ("question", "search", "article", "home", "article_list", "ask_wait"):
        assert rows.get(slug) == slug


@pytest.mark.django_db(transaction=True)
def test_the_home_page_shows_the_ad_fitting_its_most_asked_question(library):  # noqa: F811
    asked(QUESTION)  # published: the home page lists it among the popular questions
    campaign = rental_campaign(library)

    html = get(Client(), reverse("site:home"))

    block = aside(html)
    assert block.count('class="sponsored-card"') == 1
    assert LABEL in block and '<span class="sponsored-advertiser">机器人租赁公司</span>' in block
    assert library["rental"].title in block and 'href="/c/' in block and 'data-beacon="/v/' in block
    assert list(Impression.objects.values_list("placement__slug", "campaign_id")) == [("home", campaign.id)]


@pytest.mark.django_db(transaction=True)
def test_the_home_page_shows_no_block_when_no_campaign_fits(library):  # noqa: F811
    asked(QUESTION)

    html = get(Client(), reverse("site:home"))

    assert "sponsored-card" not in html and LABEL not in html
    assert not Impression.objects.exists()


@pytest.fixture
def warehousing(library):  # noqa: F811
    """The robots article in a category of its own, so that the list filtered by it shows it alone
    (the promoted rental article is in none)."""
    category = Category.objects.create(slug="warehousing", name="仓储物流")
    services.article_set_category(article_id=library["robots"].id, category_id=category.id, actor=None)
    return category


@pytest.mark.django_db(transaction=True)
def test_the_article_list_shows_the_ad_fitting_the_listed_articles(library, warehousing):  # noqa: F811
    campaign = rental_campaign(library)

    html = get(Client(), reverse("site:article_list") + "?category=warehousing")

    block = aside(html)
    assert library["robots"].title in html.split('<aside class="qa-aside">', 1)[0]
    assert block.count('class="sponsored-card"') == 1 and LABEL in block and "机器人租赁公司" in block
    assert list(Impression.objects.values_list("placement__slug", "campaign_id")) == [("article_list", campaign.id)]


@pytest.mark.django_db(transaction=True)
def test_a_listed_article_is_not_sold_beside_its_own_listing(library):  # noqa: F811
    """Unfiltered, the list shows the promoted article itself (labelled 企业文章): the same article
    is not shown again as an ad on that page."""
    rental_campaign(library)

    html = get(Client(), reverse("site:article_list"))

    assert library["rental"].title in html.split('<aside class="qa-aside">', 1)[0]
    assert "sponsored-card" not in html
    assert not Impression.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_article_list_shows_no_block_when_no_campaign_fits(library, warehousing):  # noqa: F811
    html = get(Client(), reverse("site:article_list") + "?category=warehousing")

    assert "sponsored-card" not in html
    assert not Impression.objects.exists()


def waiting_client(question) -> Client:
    """The asker's browser: the session that asked `question` (it sees it before publication)."""
    client = Client()
    session = client.session
    session["asked_questions"] = [question.id]
    session.save()
    return client


@pytest.mark.django_db(transaction=True)
def test_the_waiting_page_shows_the_ad_fitting_the_question_being_answered(library):  # noqa: F811
    question = services.question_get_or_create(text=QUESTION, language="zh")  # not answered yet
    assert question.vector is None
    campaign = rental_campaign(library)

    html = get(waiting_client(question), reverse("site:ask_wait", args=[question.slug]))

    assert 'id="answer-wait"' in html  # the waiting page, not a redirect to an answer
    block = aside(html)
    assert block.count('class="sponsored-card"') == 1 and LABEL in block and "机器人租赁公司" in block
    assert list(Impression.objects.values_list("placement__slug", "campaign_id")) == [("ask_wait", campaign.id)]


@pytest.mark.django_db(transaction=True)
def test_the_waiting_page_shows_no_block_when_no_campaign_fits(library):  # noqa: F811
    question = services.question_get_or_create(text="冷链物流的温控怎么做？", language="zh")
    rental_campaign(library)  # on 仓储机器人: not this question's

    html = get(waiting_client(question), reverse("site:ask_wait", args=[question.slug]))

    assert 'id="answer-wait"' in html and "sponsored-card" not in html
    assert not Impression.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_ask_form_shows_no_block(library):  # noqa: F811
    """Nothing is asked yet on the form, even with a prefilled question that a campaign would fit."""
    rental_campaign(library)

    html = get(Client(), reverse("site:ask") + "?q=" + QUESTION)

    assert "sponsored-card" not in html
    assert not Impression.objects.exists()
    assert Article.objects.filter(id=library["rental"].id, owner__isnull=False).exists()
