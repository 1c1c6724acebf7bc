"""The sponsored block in a real browser (Playwright driving Debian's headless Chromium) against
`runserver` with DEBUG=0: labelled cards on the search, article and question pages, viewability measured by
IntersectionObserver (a card half in view for over a second is viewable, one scrolled past quickly
is not), a click redirected and billed once, and the portal's never-billed preview. Screenshots go
to var/screenshots/sponsored/."""
import datetime as dt
import shutil
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from ads import services
from ads.models import Advertiser, AdvertiserUser, Campaign, CampaignKeyword, Click, Impression, LedgerEntry, Promotion, Review
from contentlib import services as library
from contentlib.models import Article
from contentlib.readers import ad_day
from tests.site.test_browser import browser, site_server  # noqa: F401 - fixtures

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "sponsored")
# A person's Chromium: the headless one says "HeadlessChrome", which is a bot (and rightly never billed).
PERSON = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36")
PASSWORD = "pw-for-tests-only"
TITLE = "冷链物流温控方案：医药运输全程温度监测"
PARAGRAPH = ("医药冷链运输需要全程温度监测。冷藏车每分钟上传一次温度，异常时立即报警，并在仓库之间交接时留下完整的记录。"
             "企业负责人表示，下一步将把温控数据接入运输管理系统，实现冷链全程可追溯。")
COMPANIES = (("上海瑞冷医药物流有限公司", "瑞冷医药冷链：全程温控配送", "1.50"),
             ("苏州恒温仓储科技有限公司", "恒温仓储：冷链物流温控一体化", "1.20"))


@pytest.fixture
def sponsored(transactional_db, article_factory, django_capture_on_commit_callbacks):
    """A published organic article (enriched, indexed) long enough that its sponsored block is below
    the fold, and two advertisers each running a CPC campaign on 冷链 that promotes an article fitting it."""
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)
    page = article_factory(title=TITLE, text="\n".join([PARAGRAPH] * 14), canonical_url="https://w.example/cold-chain")
    with django_capture_on_commit_callbacks(execute=True):
        library.article_approve(article_id=page.id, actor=staff)
    page.refresh_from_db()
    assert page.embedding is not None and page.tokens
    campaigns = []
    for n, (name, headline, bid) in enumerate(COMPANIES, start=1):
        advertiser = Advertiser.objects.create(name=name, status=Advertiser.Status.ACTIVE, email=f"ad{n}@example.com")
        user = get_user_model().objects.create_user(f"ad{n}-owner", password=PASSWORD)
        AdvertiserUser.objects.create(user=user, advertiser=advertiser, role="owner")
        services.ledger_top_up(advertiser_id=advertiser.id, amount="500", actor=staff, note="transfer")
        # Its own article, as enrichment would store it: the same vector space and the page's words.
        promoted = Article.objects.create(title=headline, text=PARAGRAPH, summary=PARAGRAPH[:60],
                                          origin=Article.Origin.SUBMITTED, owner=advertiser,
                                          status=Article.Status.APPROVED, language="zh", embedding=page.embedding,
                                          tokens=page.tokens, published_at=page.published_at)
        campaign = Campaign.objects.create(
            advertiser=advertiser, name=f"冷链推广 {n}", pricing=Campaign.Pricing.CPC, max_bid=Decimal(bid),
            daily_budget=Decimal("100.00"), total_budget=Decimal("400.00"), start_date=ad_day() - dt.timedelta(days=1),
            status=Campaign.Status.ACTIVE)
        CampaignKeyword.objects.create(campaign=campaign, text="冷链", match_type="phrase", review=Review.APPROVED)
        Promotion.objects.create(campaign=campaign, article=promoted, review=Review.APPROVED)
        campaigns.append(campaign)
    return {"page": page, "campaigns": campaigns}


def _orm(function):
    """Runs `function` in another thread: Playwright's event loop in this one makes Django refuse the ORM."""
    def run():
        try:
            return function()
        finally:
            connection.close()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def test_cards_are_labelled_viewable_only_when_seen_and_a_click_is_billed_once(sponsored, browser, tmp_path):  # noqa: F811
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    names = {c[0] for c in COMPANIES}
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 600}, user_agent=PERSON)
        page = context.new_page()
        refused = []
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))

        # The search page: the query and its vector stand in for a question and its answer.
        page.goto(f"{base}/search/?q=冷链物流温控方案")
        cards = page.locator(".sponsored-card")
        assert cards.count() == 2
        for i in range(2):
            text = cards.nth(i).inner_text()
            assert "广告" in text and any(name in text for name in names), text
        page.screenshot(path=SCREENSHOTS / "01-search.png", full_page=True)

        # The article page: its block is in the aside, below the article on a narrow screen (stacked).
        page.set_viewport_size({"width": 700, "height": 600})
        page.goto(f"{base}/articles/{sponsored['page'].id}/")
        cards = page.locator(".sponsored-card")
        assert cards.count() == 2 and all("广告" in cards.nth(i).inner_text() for i in range(2))
        page.wait_for_timeout(1500)
        assert page.locator(".sponsored-card[data-viewable]").count() == 0  # never in view: nothing sent
        # Scrolled past quickly: the second card is in view for about a fifth of a second.
        cards.nth(1).evaluate("card => card.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(200)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(1500)
        assert page.locator(".sponsored-card[data-viewable]").count() == 0
        # The first card wholly in view, the second just below the fold, for over a second.
        cards.nth(0).evaluate("card => window.scrollTo(0, card.getBoundingClientRect().bottom + window.scrollY"
                              " - window.innerHeight + 4)")
        assert cards.nth(1).evaluate("card => card.getBoundingClientRect().top >= window.innerHeight")
        page.wait_for_selector(".sponsored-card[data-viewable=sent]", timeout=5000)
        page.wait_for_timeout(1500)
        assert cards.nth(0).get_attribute("data-viewable") == "sent"
        assert cards.nth(1).get_attribute("data-viewable") is None
        page.screenshot(path=SCREENSHOTS / "02-article-first-card-viewable.png")

        def viewability():
            shown = Impression.objects.filter(placement__slug="article").order_by("position")
            return [(i.position, i.viewable_at is not None, i.invalid_reason) for i in shown]

        assert _orm(viewability) == [(1, True, ""), (2, False, "")]

        # A click: redirected to the sponsored article's page, billed; the same link again is not.
        first = cards.nth(0)
        href = first.locator("a").get_attribute("href")
        title = first.locator("a").inner_text()
        assert href.startswith("/c/")
        first.locator("a").click()
        page.wait_for_url(f"{base}/articles/*/")
        assert title in page.locator("h1").inner_text()  # after its 企业文章 label and company
        page.goto(base + href)
        page.wait_for_url(f"{base}/articles/*/")

        def billed():
            impression = Impression.objects.filter(placement__slug="article", position=1).get()
            clicks = list(Click.objects.filter(impression=impression).order_by("at"))
            charges = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, campaign_id=impression.campaign_id)
            return [c.billed for c in clicks], [c.reason for c in clicks], list(charges.values_list("amount", flat=True)), \
                -impression.price

        flags, reasons, amounts, price = _orm(billed)
        assert flags == [True, False] and reasons[0] == "" and reasons[1] in ("repeat", "ip_limit")
        assert amounts == [price]
        context.close()

        # The portal: the company's own card, previewed, never billed.
        context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}, user_agent=PERSON)
        page = context.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        page.goto(f"{base}/portal/login/")
        page.fill("input[name=username]", "ad1-owner")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/portal/")
        page.goto(f"{base}/portal/campaigns/{sponsored['campaigns'][0].id}/")
        preview = page.locator(".sponsored-preview .sponsored-card")
        assert preview.count() == 1
        assert "广告" in preview.inner_text() and COMPANIES[0][0] in preview.inner_text()
        assert preview.get_attribute("data-beacon") is None
        preview.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / "03-portal-preview.png", full_page=True)
        context.close()
    assert refused == [], refused
    previews = _orm(lambda: list(Impression.objects.filter(campaign=sponsored["campaigns"][0], invalid_reason="preview")
                                 .values_list("cost", flat=True)))
    assert previews == [Decimal("0")]


QUESTION = "冷链物流温控方案怎么做？"


def test_a_question_page_s_card_is_labelled_beside_the_answer_and_its_click_billed_once(sponsored, browser, tmp_path):  # noqa: F811
    from recommender.answers.services import answer_for_reader  # noqa: PLC0415

    def asked():
        question = library.question_get_or_create(text=QUESTION, language="zh")
        answer_for_reader(question_id=question.id)
        question.refresh_from_db()
        return question

    question = _orm(asked)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    names = {c[0] for c in COMPANIES}
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 800}, user_agent=PERSON)
        page = context.new_page()
        refused = []
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        page.goto(f"{base}/q/{question.slug}")
        assert page.locator(".answer a.cite").count() >= 1  # the answer and its references are there
        cards = page.locator(".qa-aside .sponsored-card")
        assert cards.count() == 2 and page.locator(".qa-main .sponsored-card").count() == 0
        for i in range(2):
            text = cards.nth(i).inner_text()
            assert "广告" in text and any(name in text for name in names), text
        # Beside the answer: the block's left edge is right of the answer's right edge.
        answer_box, block_box = page.locator("#answer").bounding_box(), page.locator(".qa-aside .sponsored").bounding_box()
        assert block_box["x"] >= answer_box["x"] + answer_box["width"]
        page.screenshot(path=SCREENSHOTS / "04-question.png", full_page=True)

        first = cards.nth(0).locator("a")
        href, title = first.get_attribute("href"), first.inner_text()
        assert href.startswith("/c/")
        first.click()
        page.wait_for_url(f"{base}/articles/*/")
        assert title in page.locator("h1").inner_text()  # after its 企业文章 label and company
        page.screenshot(path=SCREENSHOTS / "05-question-click-landed.png")
        page.goto(base + href)  # the same link again: redirected, never billed twice
        page.wait_for_url(f"{base}/articles/*/")

        # A phone: the block under the answer, nothing wider than the screen.
        phone = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800}, user_agent=PERSON)
        small = phone.new_page()
        small.goto(f"{base}/q/{question.slug}")
        assert small.locator(".qa-aside .sponsored-card").count() == 2
        assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        small.screenshot(path=SCREENSHOTS / "06-question-375.png", full_page=True)
        phone.close()
        context.close()
    assert refused == [], refused

    def billed():
        impression = Impression.objects.filter(placement__slug="question", clicks__isnull=False).distinct().get()
        clicks = list(Click.objects.filter(impression=impression).order_by("at"))
        charges = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, campaign_id=impression.campaign_id)
        return [c.billed for c in clicks], list(charges.values_list("amount", flat=True)), -impression.price

    flags, amounts, price = _orm(billed)
    assert flags == [True, False] and amounts == [price]


def test_home_article_list_and_waiting_pages_show_labelled_cards_on_desktop_and_phone(sponsored, browser, tmp_path):  # noqa: F811
    """Each page type's block through its own placement: the home page's by its most asked question,
    the article list's by the listed articles (filtered by a category the promoted articles are not
    in), the waiting page's by the question being answered; beside the content on a desktop, under
    it on a 375-pixel phone with nothing wider than the screen."""
    from contentlib.models import Category  # noqa: PLC0415
    from recommender.answers.services import answer_for_reader  # noqa: PLC0415

    def prepare():
        answered = library.question_get_or_create(text=QUESTION, language="zh")
        answer_for_reader(question_id=answered.id)
        category = Category.objects.create(slug="cold-chain", name="冷链物流")
        library.article_set_category(article_id=sponsored["page"].id, category_id=category.id, actor=None)
        return library.question_get_or_create(text="医药冷链运输的温度监测怎么做？", language="zh")  # not answered

    waiting = _orm(prepare)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    names = {c[0] for c in COMPANIES}
    pages = (("07-home", "/"), ("08-article-list", "/articles/?category=cold-chain"),
             ("09-ask-wait", f"/ask/{waiting.slug}/wait"))
    with site_server(tmp_path) as base:
        for width, suffix in ((1100, ""), (375, "-375")):
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 800}, user_agent=PERSON)
            page = context.new_page()
            refused = []
            page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
            # The waiting page is the asker's (or staff's) until the question is published.
            page.goto(f"{base}/admin/login/")
            page.fill("input[name=username]", "staff")
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            for name, path in pages:
                page.goto(base + path)
                cards = page.locator(".qa-aside .sponsored-card")
                assert cards.count() >= 1, path
                for i in range(cards.count()):
                    text = cards.nth(i).inner_text()
                    assert "广告" in text and any(company in text for company in names), (path, text)
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
                page.screenshot(path=SCREENSHOTS / f"{name}{suffix}.png", full_page=True)
            page.goto(f"{base}/ask/")
            assert page.locator(".sponsored-card").count() == 0  # nothing asked yet, nothing to match
            context.close()
            assert refused == [], refused

    served = _orm(lambda: set(Impression.objects.values_list("placement__slug", flat=True)))
    assert {"home", "article_list", "ask_wait"} <= served
