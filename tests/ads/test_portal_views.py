"""The portal's pages in the test client: sign-up, sign-in and passwords, submitting, campaigns with
a bulk keyword paste, error messages in the user's language."""
import re

import pytest
from django.core import mail
from django.urls import reverse

from ads.models import Advertiser, Campaign
from contentlib.models import Article
from contentlib.readers import ad_day

pytestmark = pytest.mark.django_db

SIGN_UP = {"name": "苏州示例精密机械有限公司", "credit_code": "91350100M000100Y43", "address": "苏州工业园区星湖街1号",
           "contact_name": "李雷", "phone": "0512-66666666", "email": "lilei@example.com", "username": "lilei",
           "password1": "a-long-enough-passphrase-42", "password2": "a-long-enough-passphrase-42"}


def test_a_company_signs_up_and_waits_for_approval(client):
    response = client.post(reverse("portal:signup"), SIGN_UP, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:dashboard")
    page = response.content.decode()
    assert "正在由工作人员审核" in page
    assert reverse("portal:article_new") not in page and reverse("portal:campaign_new") not in page
    assert Advertiser.objects.get(name=SIGN_UP["name"]).status == "applied"


def test_a_wrong_credit_code_is_explained_on_the_form_in_chinese_and_english(client):
    chinese = client.post(reverse("portal:signup"), {**SIGN_UP, "credit_code": "91350100M000100Y44"})
    assert chinese.status_code == 200 and "校验位不对" in chinese.content.decode() and "“3”" in chinese.content.decode()
    english = client.post(reverse("portal:signup"), {**SIGN_UP, "credit_code": "91350100M000100Y44"},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "check character of this credit code is wrong" in english.content.decode()
    assert not Advertiser.objects.exists()


def test_password_reset_by_email_with_the_portals_link(client, company_a):
    client.post(reverse("portal:password_reset"), {"email": company_a.owner.user.email})
    assert len(mail.outbox) == 1 and "重置" in mail.outbox[0].subject
    link = re.search(r"http://testserver(/portal/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert "设置新密码" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "another-long-passphrase-7",
                                                    "new_password2": "another-long-passphrase-7"})
    assert done.headers["Location"] == reverse("portal:password_reset_complete")
    company_a.owner.user.refresh_from_db()
    assert company_a.owner.user.check_password("another-long-passphrase-7")


def test_sign_in_and_out(client, company_a):
    response = client.post(reverse("portal:login"), {"username": "a-owner", "password": "pw-for-tests-only"})
    assert response.headers["Location"] == reverse("portal:dashboard")
    assert client.post(reverse("portal:logout")).headers["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_an_article_is_submitted_through_the_form(client, company_a):
    client.force_login(company_a.member.user)
    response = client.post(reverse("portal:article_new"), {
        "title": "新品发布", "body": "## 温链通\n\n覆盖长三角的医药冷链配送网络。", "source_url": "", "keywords": "冷链",
        "language": "zh"}, follow=True)
    article = Article.objects.get(title="新品发布")
    assert response.redirect_chain[-1][0] == reverse("portal:article_detail", args=[article.id])
    page = response.content.decode()
    assert "<h2>温链通</h2>" in page and "待审核" in page


def test_campaign_form_errors_say_what_to_do(client, company_a):
    client.force_login(company_a.member.user)
    response = client.post(reverse("portal:campaign_new"), {
        "name": "低价计划", "pricing": "cpc", "max_bid": "0.10", "daily_budget": "10", "total_budget": "100",
        "start_date": ad_day().isoformat()})
    page = response.content.decode()
    assert response.status_code == 200 and "低于底价" in page and "请至少出价 0.30" in page
    assert not Campaign.objects.filter(name="低价计划").exists()


def test_a_bulk_keyword_paste_reports_each_line(client, company_a):
    client.force_login(company_a.member.user)
    url = reverse("portal:keywords_add", args=[company_a.campaign.id])
    response = client.post(url, {"lines": "医药冷链\nA冷链\n？？\n医药冷链", "match_type": "phrase"}, follow=True)
    page = response.content.decode()
    assert "4 个关键词中已添加 1 个" in page
    report = page.split('class="list keyword-report"')[1].split("</table>")[0]
    assert "已添加为“医药冷链”" in report
    assert report.count("未添加") == 3 and "去掉标点后没有内容" in report and "计划中已有同一匹配方式的“a冷链”" in report


def test_a_user_changes_the_password(client, company_a):
    client.force_login(company_a.member.user)
    response = client.post(reverse("portal:password_change"), {
        "old_password": "pw-for-tests-only", "new_password1": "another-long-passphrase-7",
        "new_password2": "another-long-passphrase-7"})
    assert response.headers["Location"] == reverse("portal:password_change_done")
    company_a.member.user.refresh_from_db()
    assert company_a.member.user.check_password("another-long-passphrase-7")


@pytest.mark.postgres
def test_the_dashboard_and_ledger_show_what_is_left_after_accrued_cpm_spend(client, company_a, settings):
    import datetime as dt

    from ads import events
    from tests.ads.tracking_helpers import READER, make_campaign, placement, result_for

    settings.AD_PACING_INTERVAL_MINUTES = 0
    campaign = make_campaign(pricing="cpm", bid="1000.00", advertiser=company_a.advertiser)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=10)
    for _ in range(3):  # 1.00 a viewable impression, accrued, not yet flushed into the ledger
        served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER,
                                          now=now)[0]
        assert events.viewable_record(impression_id=served.impression_id, at=now + dt.timedelta(seconds=2)) \
            == "accepted"
    company_a.advertiser.refresh_from_db()
    balance = company_a.advertiser.balance
    left = f"{balance - 3:.2f}"
    client.force_login(company_a.owner.user)
    for name in ("portal:dashboard", "portal:ledger"):
        chinese = client.get(reverse(name)).content.decode()
        assert f"可用余额：{left} CNY" in chinese and "3.00 CNY" in chinese and f"{balance:.2f}" in chinese
        english = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert f"Left to spend: {left} CNY, after 3.00 CNY" in english


def test_the_dashboard_sends_its_figures_to_the_reports(client, company_a):
    """Tracking is live: the dashboard's spend card points to the reports instead of promising figures later."""
    client.force_login(company_a.owner.user)
    body = client.get(reverse("portal:dashboard")).content.decode()
    assert f'href="{reverse("portal:reports")}">查看报表</a>' in body and "上线后" not in body
