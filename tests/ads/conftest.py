"""Two enterprises, A and B, each with an owner, a member and a reporter, an approved and a pending
article, a campaign with keywords and a promotion, a verified domain and a ledger entry."""
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from ads import services
from ads.models import Advertiser, AdvertiserUser, Campaign, VerifiedDomain
from contentlib import services as library
from contentlib.readers import ad_day

PASSWORD = "pw-for-tests-only"
TEXTS = {
    "A": ("冷链物流温控方案", "医药冷链运输需要全程温度监测。冷藏车每分钟上传一次温度，异常时立即报警，并在仓库之间交接时留下完整的记录。"),
    "B": ("协作机器人焊接工作站", "小批量钣金焊接适合协作机器人。离线编程减少示教时间，激光焊缝跟踪让焊接质量更稳定，系统集成商可以快速部署。"),
}


@dataclass
class Company:
    advertiser: Advertiser
    owner: AdvertiserUser
    member: AdvertiserUser
    reporter: AdvertiserUser
    approved: object = None
    pending: object = None
    campaign: Campaign = None
    ids: dict = field(default_factory=dict)


def make_company(letter: str, *, staff) -> Company:
    User = get_user_model()
    advertiser = Advertiser.objects.create(name=f"公司{letter}有限公司", status=Advertiser.Status.ACTIVE,
                                           email=f"{letter.lower()}@example.com")
    roles = {}
    for role in ("owner", "member", "reporter"):
        user = User.objects.create_user(username=f"{letter.lower()}-{role}", password=PASSWORD,
                                        email=f"{letter.lower()}-{role}@example.com")
        roles[role] = AdvertiserUser.objects.create(user=user, advertiser=advertiser, role=role)
    company = Company(advertiser, roles["owner"], roles["member"], roles["reporter"])
    title, body = TEXTS[letter]
    approved = services.submission_save(membership=company.member, title=title, body_markdown=body * 2,
                                        keywords="冷链, 温控").article
    library.article_approve(article_id=approved.id, actor=staff)
    pending = services.submission_save(membership=company.member, title=title + "（续）",
                                       body_markdown=f"{letter} 第二篇。" + body[::-1]).article
    company.approved, company.pending = approved, pending
    company.campaign = services.campaign_create(
        membership=company.member, name=f"{letter} 推广", pricing="cpc", max_bid=Decimal("1.00"),
        daily_budget=Decimal("50"), total_budget=Decimal("500"), start_date=ad_day(),
        end_date=ad_day() + dt.timedelta(days=30), hours=[], languages=["zh"], frequency_cap=None)
    services.keywords_add(membership=company.member, campaign_id=company.campaign.id, lines=f"{letter}冷链\n温控{letter}",
                          match_type="phrase")
    services.keywords_add(membership=company.member, campaign_id=company.campaign.id, lines=f"免费{letter}",
                          match_type="phrase", negative=True)
    promotion = services.promotion_add(membership=company.member, campaign_id=company.campaign.id,
                                       article_id=approved.id)
    domain = VerifiedDomain.objects.create(advertiser=advertiser, domain=f"{letter.lower()}.example.com",
                                           token=f"token-{letter}")
    entry = services.ledger_top_up(advertiser_id=advertiser.id, amount="1000", actor=staff, note="transfer")
    from payments import services as payments  # noqa: PLC0415  (tests only: ads itself never imports payments)

    topup = payments.order_create_for_topup(user=roles["owner"].user, advertiser_id=advertiser.id, amount="500",
                                            provider="bank_transfer")
    company.ids = {
        "article_id": approved.id, "campaign_id": company.campaign.id, "promotion_id": promotion.id,
        "keyword_id": company.campaign.keywords.first().id, "domain_id": domain.id, "entry_id": entry.id,
        "reference": topup.reference,
    }
    return company


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Six users a company: the production hasher's 1M rounds would dominate these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)


@pytest.fixture
def company_a(staff):
    return make_company("A", staff=staff)


@pytest.fixture
def company_b(staff):
    return make_company("B", staff=staff)
