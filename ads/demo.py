"""Demo advertisers for `manage.py demo`: two companies of the demo corpus with portal users, their
articles approved, a topped-up balance and an approved campaign on keywords the corpus covers."""
import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from ads import credit_code, services
from ads.models import Advertiser, AdvertiserUser, Campaign
from contentlib import corpus
from contentlib import services as library
from contentlib.models import Article
from contentlib.readers import ad_day


@dataclass(frozen=True)
class DemoCompany:
    name: str
    code17: str  # the credit code's first 17 characters; the check character is computed
    address: str
    contact: str
    phone: str
    users: tuple[tuple[str, str], ...]  # (username, role)
    campaign: str


COMPANIES = (
    DemoCompany("上海瑞冷医药物流有限公司", "91310115MA1K4RL0X", "上海市浦东新区康桥路 188 号", "孟雨桐",
                "021-5899 0001", (("demo-ruileng", "owner"), ("demo-ruileng-reporter", "reporter")),
                "医药冷链 · 长三角"),
    DemoCompany("常州锐臂智能装备有限公司", "91320411MA1NRB06Q", "常州市新北区太湖东路 9 号", "锐臂市场部",
                "0519-8512 0002", (("demo-ruibi", "owner"), ("demo-ruibi-member", "member")),
                "协作机器人焊接"),
)


def _corpus_keywords(name: str) -> list[str]:
    """The keywords the corpus gives the company's own articles (what readers of the demo ask about)."""
    return [keyword for item in corpus.articles() if item.advertiser == name for keyword in item.keywords]


def demo_advertisers_ensure(*, password: str, staff) -> list[tuple[str, str, str]]:
    """Creates or resets the demo advertisers, their users (with `password`), balances and campaigns.

    Their articles come from the crawled demo website (linked to them by `demo_curate`); the ones
    still pending are approved here so that they can be promoted. Safe to run again: returns
    (username, role, company) for every demo portal user.
    """
    User = get_user_model()
    logins = []
    for company in COMPANIES:
        with transaction.atomic():
            advertiser, _ = Advertiser.objects.get_or_create(name=company.name)
            code = company.code17 + credit_code.check_character(company.code17)
            Advertiser.objects.filter(id=advertiser.id).update(
                credit_code=code, address=company.address, contact_name=company.contact, phone=company.phone,
                email=f"{company.users[0][0]}@example.com", status=Advertiser.Status.ACTIVE)
            for username, role in company.users:
                user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
                user.set_password(password)
                user.save()
                AdvertiserUser.objects.update_or_create(user=user, defaults={"advertiser": advertiser, "role": role})
                logins.append((username, role, company.name))
            owner = AdvertiserUser.objects.select_related("advertiser", "user").get(user__username=company.users[0][0])
            for article in Article.objects.filter(owner=advertiser, status=Article.Status.PENDING,
                                                  duplicate_of__isnull=True):
                library.article_approve(article_id=article.id, reason="demo data")
            if not advertiser.ledger.exists():
                services.ledger_top_up(advertiser_id=advertiser.id, amount="5000", actor=staff, note="demo top-up")
            _campaign_ensure(owner, company, staff)
    return logins


def _campaign_ensure(owner: AdvertiserUser, company: DemoCompany, staff) -> Campaign | None:
    if Campaign.objects.filter(advertiser_id=owner.advertiser_id, name=company.campaign).exists():
        return None
    articles = list(Article.objects.filter(owner_id=owner.advertiser_id, status=Article.Status.APPROVED,
                                           duplicate_of__isnull=True))
    keywords = _corpus_keywords(company.name)
    if not articles or not keywords:
        return None  # the demo website was not crawled (or changed): nothing to promote
    campaign = services.campaign_create(
        membership=owner, name=company.campaign, pricing=Campaign.Pricing.CPC, max_bid="1.50", daily_budget="200",
        total_budget="3000", start_date=ad_day(), end_date=ad_day() + dt.timedelta(days=60), hours=list(range(8, 22)),
        languages=["zh"], frequency_cap=3)
    services.keywords_add(membership=owner, campaign_id=campaign.id, lines="\n".join(keywords[:5]), match_type="phrase")
    services.keywords_add(membership=owner, campaign_id=campaign.id, lines="\n".join(keywords[5:]), match_type="broad")
    services.keywords_add(membership=owner, campaign_id=campaign.id, lines="招聘\n免费", match_type="phrase",
                          negative=True)
    for article in articles:
        services.promotion_add(membership=owner, campaign_id=campaign.id, article_id=article.id)
    services.campaign_submit(membership=owner, campaign_id=campaign.id)
    services.campaign_approve(campaign_id=campaign.id, actor=staff, reason="demo data")
    return campaign
