"""Staff in admin: deciding advertisers, topping up, a refund through its confirmation page, creating
an enterprise user, reviewing a campaign on one page, submission flags on the article page."""
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from ads import services
from ads.models import Advertiser, AdvertiserUser, CampaignReview, LedgerEntry
from tests.ads.test_advertiser_services import apply

pytestmark = pytest.mark.django_db


def test_staff_approve_an_application_and_the_owner_is_emailed_once(client, staff, django_capture_on_commit_callbacks):
    membership = apply()
    client.force_login(staff)
    page = client.get(reverse("admin:ads_advertiser_change", args=[membership.advertiser_id])).content.decode()
    assert "设为：正常" in page and "设为：已拒绝" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:ads_advertiser_decide", args=[membership.advertiser_id, "active"]))
    assert Advertiser.objects.get(id=membership.advertiser_id).status == "active"
    assert [m.subject for m in mail.outbox] == ["您的企业账户已获批准"]


def test_a_refusal_without_a_reason_is_refused_in_admin(client, staff):
    membership = apply()
    client.force_login(staff)
    response = client.post(reverse("admin:ads_advertiser_decide", args=[membership.advertiser_id, "refused"]),
                           {"reason": ""}, follow=True)
    assert "拒绝时需要填写理由" in response.content.decode()
    assert Advertiser.objects.get(id=membership.advertiser_id).status == "applied"


def test_an_editor_cannot_top_up(client, editor, company_a):
    client.force_login(editor)
    response = client.post(reverse("admin:ads_advertiser_top_up", args=[company_a.advertiser.id]), {"amount": "10"})
    assert response.status_code == 403
    assert Advertiser.objects.get(id=company_a.advertiser.id).balance == Decimal("1000.00")


def test_a_top_up_from_admin_records_the_staff_member(client, staff, company_a):
    client.force_login(staff)
    client.post(reverse("admin:ads_advertiser_top_up", args=[company_a.advertiser.id]),
                {"amount": "300", "note": "转账 8899"})
    entry = LedgerEntry.objects.filter(advertiser=company_a.advertiser).order_by("-id").first()
    assert (entry.amount, entry.actor_name, entry.note) == (Decimal("300.00"), "staff", "转账 8899")


def test_a_refund_shows_its_effect_and_is_written_only_on_confirmation(client, staff, company_a):
    client.force_login(staff)
    url = reverse("admin:ads_advertiser_adjust", args=[company_a.advertiser.id])
    values = {"kind": "refund", "amount": "250", "reverses": company_a.ids["entry_id"], "reason": "合同终止"}
    preview = client.post(url, values).content.decode()
    assert "-250.00" in preview and "1000.00" in preview and "750.00" in preview and 'name="confirm"' in preview
    assert LedgerEntry.objects.filter(advertiser=company_a.advertiser).count() == 1
    client.post(url, {**values, "confirm": "1"})
    refund = LedgerEntry.objects.filter(advertiser=company_a.advertiser, kind="refund").get()
    assert refund.amount == Decimal("-250.00") and refund.reverses_id == company_a.ids["entry_id"]
    assert Advertiser.objects.get(id=company_a.advertiser.id).balance == Decimal("750.00")


def test_staff_create_an_enterprise_user(client, staff, company_a):
    client.force_login(staff)
    client.post(reverse("admin:ads_advertiseruser_add"), {
        "advertiser": company_a.advertiser.id, "role": "reporter", "username": "analyst-a",
        "email": "analyst@a.example.com", "password": ""})
    membership = AdvertiserUser.objects.get(user__username="analyst-a")
    assert membership.advertiser_id == company_a.advertiser.id and membership.role == "reporter"
    assert not membership.user.has_usable_password()


def test_an_editor_reviews_keywords_and_promotions_on_one_page(client, editor, company_a):
    services.campaign_submit(membership=company_a.member, campaign_id=company_a.campaign.id)
    client.force_login(editor)
    url = reverse("admin:ads_campaign_change", args=[company_a.campaign.id])
    page = client.get(url).content.decode()
    assert "a冷链" in page and "免费a" in page and company_a.approved.title in page
    assert "moderation-approve" in page and "moderation-reject" in page
    assert company_a.campaign.id in [c.id for c in client.get(
        reverse("admin:ads_campaign_changelist") + "?to_review=1").context["cl"].result_list]
    client.post(reverse("admin:ads_campaign_reject", args=[company_a.campaign.id]), {"reason": "落地页与文章不符"})
    review = CampaignReview.objects.get(campaign=company_a.campaign)
    assert (review.action, review.actor_name, review.reason) == ("reject", "editor", "落地页与文章不符")
    assert "落地页与文章不符" in client.get(url).content.decode()


def test_the_article_page_shows_the_submissions_flags(client, editor, company_a, company_b):
    copy = services.submission_save(membership=company_b.member, title="国家级冷链方案",
                                    body_markdown=company_a.approved.text)
    client.force_login(editor)
    page = client.get(reverse("admin:contentlib_article_change", args=[copy.article_id])).content.decode()
    assert "与库中文章雷同" in page and f"#{company_a.approved.id}" in page
    assert "绝对化用语" in page and "国家级" in page
    listing = client.get(reverse("admin:contentlib_article_changelist")).content.decode()
    assert "需核查" in listing


def test_the_revision_page_shows_the_flags_of_an_enterprises_edit(client, editor, company_a):
    services.submission_save(membership=company_a.member, title=company_a.approved.title,
                             body_markdown=company_a.approved.text + "\n\n我们是全国第一的冷链服务商。",
                             article_id=company_a.approved.id)
    revision = company_a.approved.revisions.get(status="pending")
    client.force_login(editor)
    page = client.get(reverse("admin:contentlib_articlerevision_change", args=[revision.id])).content.decode()
    assert "付费文章" in page and "第一" in page.split('class="moderation-note submission-note"')[1].split("</p>")[0]
    assert "table" in page and "diff" in page  # the core's diff is still there
