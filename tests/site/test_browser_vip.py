"""The VIP path in a real browser (Playwright on Debian's Chromium) against `runserver` with DEBUG=0,
as `make demo` serves: a reader hits the premium wall, signs up (the confirmation email is read from
the file backend), subscribes by bank transfer, staff confirm the transfer in admin, and the reader
reads the full text. No Content-Security-Policy violation on the way. Screenshots of every step go to
var/screenshots/vip/."""
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from contentlib import demo, services
from contentlib.models import Membership, Source
from payments.models import Payment, PaymentOrder, Plan
from tests.site.test_browser import admin_sign_in, browser, site_server  # noqa: F401 - the Chromium fixture

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "vip")
OPEN = ["冷链物流市场在二〇二六年继续扩大，医药冷链增速最快，全年规模预计突破六千亿元。",
        "头部企业通过并购扩张网络，区域企业则专注生鲜与医药等细分市场。"]
CLOSED = ["付费结论一：华东地区冷库空置率降至百分之八，租金仍有上涨空间。",
          "付费结论二：二〇二七年医药冷链的温控监测将全面接入监管平台。",
          "付费结论三：建议投资者关注具备多温区仓配一体化能力的企业。",
          "附录：调研样本覆盖一百二十家企业，数据截至二〇二六年十月。"]


@pytest.fixture
def vip_library(transactional_db):
    # A source whose terms allow full text: the premium wall alone decides what readers see.
    source = Source.objects.create(name="产业研究院", slug="research", kind=Source.Kind.SITE,
                                   start_urls=["https://r.example/"], full_text_allowed=True)
    article = services.article_upsert(title="二〇二六年冷链物流市场深度报告", text="\n".join(OPEN + CLOSED),
                                      origin="crawled", source_id=source.id,
                                      canonical_url="https://r.example/report/2026").article
    services.article_approve(article_id=article.id, reason="demo data")
    services.article_set_premium(article_id=article.id, premium=True, actor=None)
    plan = Plan.objects.create(slug="monthly", name="VIP月卡", name_en="VIP monthly", price=Decimal("30.00"),
                               period_days=30)
    Plan.objects.create(slug="yearly", name="VIP年卡", name_en="VIP yearly", price=Decimal("298.00"), period_days=365)
    password, _ = demo.demo_users_ensure()
    return {"article": article, "plan": plan, "password": password}


@pytest.fixture
def vip_server(vip_library, tmp_path):
    """The site with emails written to files, which the test reads as the reader would."""
    mails = tmp_path / "mail"
    with site_server(tmp_path, EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                     EMAIL_FILE_PATH=str(mails)) as base:
        yield base, mails


def _confirmation_link(mails: Path) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in sorted(mails.glob("*.log")) if mails.exists() else []:
            found = re.search(r"http://\S+/accounts/confirm/\S+/", message.read_text())
            if found:
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no confirmation email in {mails}")


def test_a_reader_subscribes_by_bank_transfer_and_reads_the_full_report(vip_library, vip_server, browser):  # noqa: F811
    base, mails = vip_server
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    article_url = f"{base}/articles/{vip_library['article'].id}/"
    refused = []

    def shot(page, name):
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    reader = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 800})
    page = reader.new_page()
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))

    # 1. The wall: the first paragraphs, the wall message, nothing of the rest.
    page.goto(article_url)
    body = page.inner_text("main")
    assert all(p in body for p in OPEN) and not any(p in body for p in CLOSED)
    assert page.is_visible("aside.premium-wall") and "完整报告需订阅VIP会员" in page.inner_text("aside.premium-wall")
    shot(page, "01-reader-hits-the-wall")

    # 2. Subscribe → the VIP page asks a reader without an account to sign up first.
    page.click("aside.premium-wall a.button")
    page.wait_for_url(re.compile(r"/vip/"))
    assert "VIP月卡" in page.inner_text("main") and "¥30.00" in page.inner_text("main")
    shot(page, "02-vip-plans-signed-out")
    page.click("main p.notice a[href='/accounts/signup/']")
    page.fill("#id_email", "reader@example.com")
    page.fill("#id_password", "a-long-reader-password")
    shot(page, "03-sign-up")
    page.click("form.login button[type=submit]")
    assert "我们已向 reader@example.com 发送确认链接" in page.inner_text("main")
    shot(page, "04-check-your-email")

    # 3. The confirmation link from the email, then sign in.
    page.goto(_confirmation_link(mails))
    assert "你的账号已激活" in page.inner_text("main")
    shot(page, "05-account-confirmed")
    page.click("main a.button")
    page.fill("#id_username", "reader@example.com")
    page.fill("#id_password", "a-long-reader-password")
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert "reader@example.com" in page.inner_text("header")

    # 4. Back to the report: still walled (no membership yet); subscribe by bank transfer.
    page.goto(article_url)
    assert "你的账号当前没有有效的VIP会员资格" in page.inner_text("aside.premium-wall")
    page.click("aside.premium-wall a.button")
    page.wait_for_url(re.compile(r"/vip/"))
    shot(page, "06-vip-plans-signed-in")
    page.locator("section.plan", has_text="VIP月卡").locator("button[value=bank_transfer]").click()
    page.wait_for_url(re.compile(r"/vip/orders/VIP"))
    reference = page.inner_text("dd.reference").strip()
    assert "等待你的银行转账" in page.inner_text("main") and "¥30.00" in page.inner_text("dl.bank")
    shot(page, "07-bank-transfer-instructions")

    # 5. Staff confirm the transfer in admin.
    staff = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    admin = staff.new_page()
    admin.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    admin_sign_in(admin, base, "/admin/payments/paymentorder/", "demo-admin", vip_library["password"])
    admin.wait_for_url(re.compile(r"/admin/payments/paymentorder/"))
    row = admin.locator("#result_list tbody tr", has_text=reference)
    assert "待付款" in row.inner_text()
    shot(admin, "08-staff-order-list")
    row.locator("input.action-select").check()
    admin.select_option("select[name=action]", "confirm_bank_transfer")
    admin.click("button[name=index]")
    admin.wait_for_selector("table.confirm-transfers")
    assert reference in admin.inner_text("table.confirm-transfers")
    shot(admin, "09-staff-checks-the-transfer")
    admin.click("input[type=submit][value^='是']")
    admin.wait_for_selector("ul.messagelist li.success")
    assert f"{reference}：¥30.00 的转账已确认" in admin.inner_text("ul.messagelist")
    assert "已付款" in admin.locator("#result_list tbody tr", has_text=reference).inner_text()
    shot(admin, "10-staff-confirmed")
    admin.click(f"#result_list a:text('{reference}')")
    admin.wait_for_selector("fieldset")
    shot(admin, "11-staff-order-page")
    staff.close()

    # 6. The reader's order is paid, and the report reads in full.
    page.reload()
    assert "已付款，谢谢！" in page.inner_text("main") and "VIP会员有效期至" in page.inner_text("main")
    shot(page, "12-reader-order-paid")
    page.click("section.paid a.button")  # back to the report the reader came from
    page.wait_for_url(article_url)
    body = page.inner_text("main")
    assert all(p in body for p in OPEN + CLOSED) and not page.is_visible("aside.premium-wall")
    shot(page, "13-reader-reads-the-full-report")
    reader.close()

    # 7. The wall in English, for a visitor whose browser asks for it.
    english = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 700})
    visitor = english.new_page()
    visitor.goto(article_url)
    assert "The full report is for VIP members" in visitor.inner_text("aside.premium-wall")
    shot(visitor, "14-wall-in-english")
    english.close()
    assert refused == [], refused
    assert len(list(SCREENSHOTS.glob("*.png"))) == 14

    def recorded():
        order = PaymentOrder.objects.get(reference=reference)
        payment = Payment.objects.get(order=order)
        assert payment.confirmed_by.username == "demo-admin" and payment.amount == Decimal("30.00")
        assert Membership.objects.get(user__email="reader@example.com").grants.get().reference == reference
        connection.close()

    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread, where Django refuses the ORM
        pool.submit(recorded).result()
