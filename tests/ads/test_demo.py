"""The demo advertisers (`manage.py demo` step 5) on the corpus's own companies and keywords."""
import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from ads import credit_code, selectors
from ads.demo import COMPANIES, demo_advertisers_ensure
from ads.models import Advertiser, Campaign
from contentlib import corpus
from contentlib import services as library
from contentlib.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture
def crawled_promotions(article_factory):
    """The two companies' promotional corpus articles, as the demo crawl stores and demo_curate links them."""
    for company in COMPANIES:
        owner = Advertiser.objects.create(name=company.name)
        item = next(a for a in corpus.articles() if a.advertiser == company.name)
        article = article_factory(title=item.title, text=item.body, canonical_url=f"http://127.0.0.1:8001/articles/{item.id}.html")
        library.article_set_owner(article_id=article.id, owner_id=owner.id)


def test_two_advertisers_with_users_approved_articles_and_campaigns(crawled_promotions, staff):
    logins = demo_advertisers_ensure(password="demo-password-1234", staff=staff)
    assert {role for _, role, _ in logins} >= {"owner", "member", "reporter"}
    for company in COMPANIES:
        advertiser = Advertiser.objects.get(name=company.name)
        credit_code.validate_credit_code(advertiser.credit_code)
        assert advertiser.status == "active" and advertiser.balance == selectors.ledger_sum(advertiser_id=advertiser.id) > 0
        assert Article.objects.filter(owner=advertiser, status="approved").exists()
        campaign = Campaign.objects.get(advertiser=advertiser)
        assert campaign.status == "active" and campaign.reviews.filter(action="approve").exists()
        corpus_keywords = {k.lower() for a in corpus.articles() if a.advertiser == company.name for k in a.keywords}
        texts = set(campaign.keywords.filter(negative=False).values_list("text", flat=True))
        assert texts and texts <= corpus_keywords
        assert campaign.promotions.filter(review="approved").exists()
    username = logins[0][0]
    assert authenticate(RequestFactory().post("/portal/login/"), username=username, password="demo-password-1234")


def test_running_it_again_changes_nothing_but_the_password(crawled_promotions, staff):
    demo_advertisers_ensure(password="first-password-1234", staff=staff)
    counts = (Campaign.objects.count(), Advertiser.objects.get(name=COMPANIES[0].name).ledger.count())
    demo_advertisers_ensure(password="second-password-1234", staff=staff)
    assert (Campaign.objects.count(), Advertiser.objects.get(name=COMPANIES[0].name).ledger.count()) == counts
