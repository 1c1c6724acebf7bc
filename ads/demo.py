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
from contentlib.models import Article, Question
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
    # A second article the company submits through the portal (title, Markdown), promoted beside its
    # crawled one: on the crawled article's page (which is never sold on itself) it fills the
    # sponsored slot, since the demo library holds no other article on the company's trade.
    submitted: tuple[str, str] = ("", "")


COMPANIES = (
    DemoCompany("上海瑞冷医药物流有限公司", "91310115MA1K4RL0X", "上海市浦东新区康桥路 188 号", "孟雨桐",
                "021-5899 0001", (("demo-ruileng", "owner"), ("demo-ruileng-reporter", "reporter")),
                "医药冷链 · 长三角",
                ("“温链通”服务问答：瑞冷医药物流如何为长三角2600家医疗终端做全程温控配送",
                 "上海瑞冷医药物流有限公司推出“温链通”全程温控配送服务以来，医院药剂科、社区卫生服务中心和疾控机构"
                 "问得最多的是三件事：温度怎么证明、出了偏差怎么办、县域终端多久能到。\n\n"
                 "**温度怎么证明。** 每个配送箱都放一台带4G通信的温度记录仪，全程温度监测数据实时上传，签收时终端"
                 "可以在手机上查看整段温度曲线，疫苗和生物制品的交接记录随货留存。\n\n"
                 "**出了偏差怎么办。** 温度接近2℃或8℃的边界时，调度中心会提前预警并安排就近冷库中转；每条线路每年"
                 "做一次冷链验证，冷藏车和保温箱按GSP要求管理。\n\n"
                 "**多久能到。** 长三角核心城市当日达，县域医疗终端次日达。瑞冷医药物流在上海、苏州、杭州、合肥的"
                 "医药冷链仓覆盖2600家医疗终端，医药冷链配送服务可按月结算。")),
    DemoCompany("常州锐臂智能装备有限公司", "91320411MA1NRB06Q", "常州市新北区太湖东路 9 号", "锐臂市场部",
                "0519-8512 0002", (("demo-ruibi", "owner"), ("demo-ruibi-member", "member")),
                "协作机器人焊接",
                ("WS-600协作机器人焊接工作站选型问答：小批量钣金焊接怎么算回本",
                 "常州锐臂智能装备正式发布WS-600协作机器人焊接工作站后，来咨询的多是做钣金焊接、工程机械结构件的"
                 "中小工厂，他们瞄准的是多品种、小批量的订单。\n\n"
                 "**要不要会编程。** 锐臂的离线编程软件可以直接导入三维图纸生成焊接路径，激光焊缝跟踪自动修正工件"
                 "偏差，老焊工半天就能学会示教。\n\n"
                 "**多久回本。** 以两班制、每班替代一名焊工计算，一台WS-600协作机器人焊接工作站大约14个月回本；"
                 "系统集成商可以把工作站接入现有产线，常州锐臂智能装备提供上门调试。\n\n"
                 "**适合哪些工件。** 板厚1至8毫米的碳钢、不锈钢钣金焊接件，单批从几件到几百件都能做。")),
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
            _submitted_ensure(owner, company)
            for article in Article.objects.filter(owner=advertiser, status=Article.Status.PENDING,
                                                  duplicate_of__isnull=True):
                library.article_approve(article_id=article.id, reason="demo data")
            if not advertiser.ledger.exists():
                services.ledger_top_up(advertiser_id=advertiser.id, amount="5000", actor=staff, note="demo top-up")
            _campaign_ensure(owner, company, staff)
    return logins


def _submitted_ensure(owner: AdvertiserUser, company: DemoCompany) -> None:
    """The company's second article, submitted through the portal's service once (approved with the others)."""
    title, body = company.submitted
    if title and not Article.objects.filter(owner_id=owner.advertiser_id, title=title).exists():
        services.submission_save(membership=owner, title=title, body_markdown=body, language="zh",
                                 keywords=", ".join(_corpus_keywords(company.name)[:3]))


def _campaign_ensure(owner: AdvertiserUser, company: DemoCompany, staff) -> Campaign | None:
    existing = Campaign.objects.filter(advertiser_id=owner.advertiser_id, name=company.campaign).first()
    if existing is not None:
        # A demo built before the company's submitted article: promote it too (an editor approves it).
        promoted = set(existing.promotions.filter(archived=False).values_list("article_id", flat=True))
        missing = Article.objects.filter(owner_id=owner.advertiser_id, status=Article.Status.APPROVED,
                                         duplicate_of__isnull=True).exclude(id__in=promoted)
        for article in missing:
            services.promotion_add(membership=owner, campaign_id=existing.id, article_id=article.id)
        if missing:
            services.campaign_approve(campaign_id=existing.id, actor=staff, reason="demo data")
        return None
    articles = list(Article.objects.filter(owner_id=owner.advertiser_id, status=Article.Status.APPROVED,
                                           duplicate_of__isnull=True))
    keywords = _corpus_keywords(company.name)
    if not articles or not keywords:
        return None  # the demo website was not crawled (or changed): nothing to promote
    campaign = services.campaign_create(
        membership=owner, name=company.campaign, pricing=Campaign.Pricing.CPC, max_bid="1.50", daily_budget="200",
        total_budget="3000", start_date=ad_day(), end_date=ad_day() + dt.timedelta(days=60), hours=[],  # all day: the demo shows cards at any hour
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


def demo_sponsored_pages() -> list[tuple[str, str]]:
    """(company, path) of the reader pages where the demo companies' sponsored cards show: a search
    for the campaign's first keyword, the page of the company's crawled article (its submitted
    article fills the slot there), and a published demo question that holds one of its keywords."""
    from urllib.parse import urlencode  # noqa: PLC0415

    from django.urls import reverse  # noqa: PLC0415

    pages = []
    for company in COMPANIES:
        campaign = Campaign.objects.filter(advertiser__name=company.name, name=company.campaign,
                                           status=Campaign.Status.ACTIVE).first()
        if campaign is None:
            continue
        keyword = campaign.keywords.filter(negative=False, match_type="phrase").order_by("id").first()
        if keyword is not None:
            pages.append((company.name, f"{reverse('site:search')}?{urlencode({'q': keyword.text})}"))
        crawled = Article.objects.filter(owner=campaign.advertiser, status=Article.Status.APPROVED,
                                         origin=Article.Origin.CRAWLED).order_by("id").first()
        if crawled is not None:
            pages.append((company.name, reverse("site:article_detail", args=[crawled.id])))
        words = list(campaign.keywords.filter(negative=False).values_list("text", flat=True))
        for question in Question.objects.filter(status=Question.Status.PUBLISHED).order_by("id"):
            if any(word.lower() in question.text.lower() for word in words):
                pages.append((company.name, reverse("site:question_detail", args=[question.slug])))
                break
    return pages
