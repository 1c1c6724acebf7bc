"""The enterprise portal in a real browser (Playwright driving Debian's headless Chromium) against the
server `make demo` runs (runserver, DEBUG=0, WhiteNoise): a company signs up; an editor approves it
in admin; its user submits an article and creates a campaign with keywords; the editor approves the
article, the user promotes it and submits the campaign, the editor approves the campaign; the user
sees both approved on the dashboard. No Content-Security-Policy violation on the way. Screenshots
of every step go to var/screenshots/portal/."""
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection

from ads.models import Advertiser, Campaign, CampaignReview
from contentlib.models import Article
from tests.site.test_browser import admin_sign_in, browser, demo_server, library  # noqa: F401 - fixtures

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "portal")
COMPANY = "无锡澄光冷链科技有限公司"
CODE = "91350100M000100Y43"
PASSWORD = "portal-browser-pass-2026"
BODY = ("## 澄光冷链的温控方案\n\n澄光冷链为华东地区的医药企业提供**全程温控配送**。冷藏车每分钟上传一次温度，"
        "超出范围时立即报警，仓库之间交接时留下完整的电子记录。\n\n- 覆盖江浙沪 1200 家医疗终端\n"
        "- 疫苗、生物制品和诊断试剂\n- 符合 GSP 的冷链验证\n")


def test_a_company_signs_up_and_runs_its_first_campaign(library, demo_server, browser):  # noqa: F811
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    refused = []
    contexts = {}

    def open_as(who):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        contexts[who] = context
        return page

    def shot(page, name):
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    # 1. The company signs up; a wrong credit code is explained first.
    user = open_as("user")
    user.goto(f"{demo_server}/portal/signup/")
    for field, value in (("name", COMPANY), ("credit_code", CODE[:-1] + "4"), ("address", "无锡市新吴区长江路 21 号"),
                         ("contact_name", "周澄"), ("phone", "0510-8520 1234"), ("email", "zhou@chengguang.example"),
                         ("username", "zhoucheng"), ("password1", PASSWORD), ("password2", PASSWORD)):
        user.fill(f"#id_{field}", value)
    user.click("button.primary")
    assert "校验位不对" in user.inner_text("main")
    shot(user, "01-signup-wrong-credit-code")
    user.fill("#id_credit_code", CODE)
    user.fill("#id_password1", PASSWORD)
    user.fill("#id_password2", PASSWORD)
    user.click("button.primary")
    user.wait_for_url(f"{demo_server}/portal/")
    assert "正在由工作人员审核" in user.inner_text("body")
    assert user.eval_on_selector("header", "e => getComputedStyle(e).display") == "flex"  # portal.css loaded
    shot(user, "02-applied-dashboard")

    # 2. The editor approves the company in admin.
    editor = open_as("editor")
    admin_sign_in(editor, demo_server, "/admin/ads/advertiser/", "demo-editor", library["password"])
    editor.wait_for_url(f"{demo_server}/admin/ads/advertiser/")
    editor.click(f"text={COMPANY}")
    editor.wait_for_selector("form.advertiser-active")
    shot(editor, "03-admin-advertiser-applied")
    editor.click("form.advertiser-active button")
    editor.wait_for_selector("ul.messagelist li.success")
    assert "正常" in editor.inner_text("ul.messagelist")
    shot(editor, "04-admin-advertiser-approved")

    # 3. The user submits an article and creates a campaign with keywords.
    user.goto(f"{demo_server}/portal/articles/new/")
    user.fill("#id_title", "澄光冷链：医药全程温控配送")
    user.fill("#id_body", BODY)
    user.fill("#id_keywords", "医药冷链, 温控配送")
    shot(user, "05-article-form")
    user.click("button.primary")
    user.wait_for_url(re.compile(r".*/portal/articles/\d+/$"))
    article_id = int(user.url.rstrip("/").rsplit("/", 1)[1])
    assert "待审核" in user.inner_text("main") and "澄光冷链的温控方案" in user.inner_text("article")
    shot(user, "06-article-submitted")

    user.goto(f"{demo_server}/portal/campaigns/new/")
    user.fill("#id_name", "医药冷链 · 华东")
    user.fill("#id_max_bid", "1.20")
    user.fill("#id_daily_budget", "100")
    user.fill("#id_total_budget", "2000")
    user.check("input[name=languages][value=zh]")
    shot(user, "07-campaign-form")
    user.click("button.primary")
    user.wait_for_url(re.compile(r".*/portal/campaigns/\d+/$"))
    campaign_id = int(user.url.rstrip("/").rsplit("/", 1)[1])
    user.fill("form.keywords-add textarea[name=lines]", "医药冷链\n温控 配送\n疫苗冷链运输\n医药冷链\n！！")
    user.click("form.keywords-add button")
    user.wait_for_selector("table.keyword-report")
    assert user.locator("table.keyword-report tr.added").count() == 3
    assert user.locator("table.keyword-report tr.refused").count() == 2
    shot(user, "08-campaign-keywords")

    # 4. The editor approves the article (its page shows the submission), the user promotes it and
    # submits the campaign, the editor approves the campaign with its keywords and promotion.
    editor.goto(f"{demo_server}/admin/contentlib/article/{article_id}/change/")
    assert "付费文章，由 无锡澄光冷链科技有限公司（zhoucheng）提交" in editor.inner_text("p.submission-note")
    shot(editor, "09-admin-article-submitted")
    editor.click("form.moderation-approve button")
    editor.wait_for_selector("ul.messagelist li.success")

    user.goto(f"{demo_server}/portal/campaigns/{campaign_id}/")
    user.select_option("form.promotion-add select[name=article]", str(article_id))
    user.click("form.promotion-add button")
    user.wait_for_selector("table.promotions")
    user.click("form[action$='/submit/'] button")
    user.wait_for_selector("ul.messages li.success")
    assert "已提交审核" in user.inner_text("ul.messages")
    shot(user, "10-campaign-submitted")

    editor.goto(f"{demo_server}/admin/ads/campaign/?to_review=1")
    editor.click("text=医药冷链 · 华东")
    editor.wait_for_selector("form.moderation-approve")
    assert "医药冷链" in editor.inner_text("#content") and "澄光冷链：医药全程温控配送" in editor.inner_text("#content")
    shot(editor, "11-admin-campaign-review")
    editor.click("form.moderation-approve button")
    editor.wait_for_selector("ul.messagelist li.success")
    shot(editor, "12-admin-campaign-approved")

    # 5. The dashboard shows both approved.
    user.goto(f"{demo_server}/portal/")
    articles = user.inner_text("section.articles")
    assert re.search(r"已通过\s+1", articles), articles
    assert "投放中" in user.inner_text("table.campaigns")
    shot(user, "13-dashboard-both-approved")

    for context in contexts.values():
        context.close()
    assert refused == [], refused
    assert len(list(SCREENSHOTS.glob("*.png"))) == 13

    def recorded():
        advertiser = Advertiser.objects.get(name=COMPANY)
        assert advertiser.status == "active" and advertiser.decided_by_name == "demo-editor"
        article = Article.objects.get(id=article_id)
        assert article.status == "approved" and article.owner_id == advertiser.id and article.origin == "submitted"
        campaign = Campaign.objects.get(id=campaign_id)
        assert campaign.status == "active" and campaign.advertiser_id == advertiser.id
        assert set(campaign.keywords.values_list("text", flat=True)) == {"医药冷链", "温控配送", "疫苗冷链运输"}
        assert CampaignReview.objects.get(campaign=campaign).actor_name == "demo-editor"
        connection.close()

    # Playwright's event loop still runs in this thread, where Django refuses the ORM: ask from another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(recorded).result()
