"""Campaigns: validation, keywords (normalized, duplicates refused, bulk report), promotions, pause and
resume with their history, and review by editors, a changed part going back to review alone."""
import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import translation

from ads import services
from ads.models import Campaign, CampaignChange, CampaignKeyword, CampaignReview, Promotion
from contentlib.errors import ApplicationError
from contentlib.readers import ad_day

pytestmark = pytest.mark.django_db


def settings_for(**overrides):
    values = {"name": "新计划", "pricing": "cpc", "max_bid": Decimal("1.00"), "daily_budget": Decimal("20"),
              "total_budget": Decimal("200"), "start_date": ad_day(), "end_date": None, "hours": [],
              "languages": [], "frequency_cap": None}
    values.update(overrides)
    return values


def refusal(call, **overrides):
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        call(**overrides)
    return refused.value


class TestValidation:
    def test_a_bid_below_the_reserve_price_is_refused_with_the_price(self, company_a):
        with override_settings(AD_RESERVE_CPC=Decimal("0.50")):
            error = refusal(lambda **v: services.campaign_create(membership=company_a.member, **settings_for(**v)),
                            max_bid=Decimal("0.49"))
        assert error.extra["field"] == "max_bid" and "reserve price of 0.50" in error.message
        assert "Bid at least 0.50" in error.message

    def test_a_cpm_bid_has_its_own_reserve(self, company_a):
        error = refusal(lambda **v: services.campaign_create(membership=company_a.member, **settings_for(**v)),
                        pricing="cpm", max_bid=Decimal("4.99"), daily_budget=Decimal("50"))
        assert "5.00" in error.message and "thousand impressions" in error.message

    def test_a_daily_budget_must_pay_for_one_click_at_the_bid(self, company_a):
        error = refusal(lambda **v: services.campaign_create(membership=company_a.member, **settings_for(**v)),
                        max_bid=Decimal("3.00"), daily_budget=Decimal("2.99"))
        assert error.extra["field"] == "daily_budget" and "at least 3.00" in error.message

    def test_dates_in_the_past_or_in_the_wrong_order_are_refused(self, company_a):
        yesterday = ad_day() - dt.timedelta(days=1)
        create = lambda **v: services.campaign_create(membership=company_a.member, **settings_for(**v))  # noqa: E731
        assert refusal(create, start_date=yesterday).extra["field"] == "start_date"
        error = refusal(create, start_date=ad_day() + dt.timedelta(days=5), end_date=ad_day() + dt.timedelta(days=4))
        assert error.extra["field"] == "end_date" and "before the start date" in error.message

    def test_a_valid_campaign_is_a_draft_with_money_as_decimal(self, company_a):
        campaign = services.campaign_create(membership=company_a.member, **settings_for(hours=[9, 10, 9]))
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.DRAFT and campaign.hours == [9, 10]
        assert isinstance(campaign.max_bid, Decimal) and campaign.max_bid == Decimal("1.00")


class TestKeywords:
    def test_keywords_are_normalized_and_duplicates_refused_line_by_line(self, company_a):
        report = services.keywords_add(
            membership=company_a.member, campaign_id=company_a.campaign.id, match_type="exact",
            lines="智能 制造\n\n智能制造\nＭＥＳ系统？\n ！！ \n" + "长" * 101 + "\nmes系统")
        assert [(line.line_number, line.keyword, line.added) for line in report] == [
            (1, "智能制造", True), (3, "智能制造", False), (4, "mes系统", True), (5, "", False),
            (6, "长" * 101, False), (7, "mes系统", False)]
        assert "already has" in report[1].reason or "已有" in report[1].reason
        assert set(company_a.campaign.keywords.filter(match_type="exact").values_list("text", flat=True)) == {
            "智能制造", "mes系统"}

    def test_the_same_text_with_another_match_type_or_as_a_negative_is_another_keyword(self, company_a):
        campaign_id = company_a.campaign.id
        services.keywords_add(membership=company_a.member, campaign_id=campaign_id, lines="冷链", match_type="exact")
        assert services.keywords_add(membership=company_a.member, campaign_id=campaign_id, lines="冷链",
                                     match_type="broad")[0].added
        assert services.keywords_add(membership=company_a.member, campaign_id=campaign_id, lines="冷链",
                                     match_type="exact", negative=True)[0].added

    def test_an_own_bid_below_the_reserve_is_refused(self, company_a):
        error = refusal(lambda: services.keywords_add(membership=company_a.member, campaign_id=company_a.campaign.id,
                                                      lines="冷链仓储", match_type="exact", bid="0.10"))
        assert error.extra["field"] == "bid"
        assert services.keywords_add(membership=company_a.member, campaign_id=company_a.campaign.id,
                                     lines="冷链仓储", match_type="exact", bid="2.5")[0].added
        assert CampaignKeyword.objects.get(text="冷链仓储").bid == Decimal("2.50")

    def test_a_removed_keyword_can_be_added_again(self, company_a):
        keyword = company_a.campaign.keywords.get(text="a冷链")
        services.keyword_remove(membership=company_a.member, keyword_id=keyword.id)
        assert services.keywords_add(membership=company_a.member, campaign_id=company_a.campaign.id,
                                     lines="A冷链", match_type="phrase")[0].added


class TestPromotions:
    def test_only_the_advertisers_own_approved_articles_can_be_promoted(self, company_a, company_b):
        campaign_id = company_a.campaign.id
        assert refusal(lambda: services.promotion_add(membership=company_a.member, campaign_id=campaign_id,
                                                      article_id=company_b.approved.id)).extra["code"] == "not_found"
        assert refusal(lambda: services.promotion_add(membership=company_a.member, campaign_id=campaign_id,
                                                      article_id=company_a.pending.id)).extra["field"] == "article"
        assert "already promotes" in refusal(lambda: services.promotion_add(
            membership=company_a.member, campaign_id=campaign_id, article_id=company_a.approved.id)).message

    def test_a_landing_url_must_be_on_a_verified_domain(self, company_a):
        campaign = services.campaign_create(membership=company_a.member, **settings_for())
        add = lambda url: services.promotion_add(membership=company_a.member, campaign_id=campaign.id,  # noqa: E731
                                                 article_id=company_a.approved.id, landing_url=url)
        error = refusal(lambda: add("https://a.example.com/landing"))  # registered, not yet verified
        assert error.extra["field"] == "landing_url" and "not one of your verified domains" in error.message
        company_a.advertiser.domains.update(verified_at=dt.datetime.now(dt.UTC))
        assert refusal(lambda: add("https://a.example.com.evil.test/")).extra["field"] == "landing_url"
        assert refusal(lambda: add("https://b.example.com/")).extra["field"] == "landing_url"
        assert add("https://shop.a.example.com/landing?x=1").landing_url == "https://shop.a.example.com/landing?x=1"

    def test_absolute_terms_in_a_headline_are_flagged(self, company_a):
        campaign = services.campaign_create(membership=company_a.member, **settings_for())
        promotion = services.promotion_add(membership=company_a.member, campaign_id=campaign.id,
                                           article_id=company_a.approved.id, headline="行业领先的顶级冷链")
        assert set(promotion.banned_terms) == {"行业领先", "顶级"}


def approve(company, staff):
    services.campaign_submit(membership=company.member, campaign_id=company.campaign.id)
    return services.campaign_approve(campaign_id=company.campaign.id, actor=staff)


class TestReview:
    def test_a_draft_needs_keywords_and_a_promotion_before_review(self, company_a):
        campaign = services.campaign_create(membership=company_a.member, **settings_for())
        assert refusal(lambda: services.campaign_submit(membership=company_a.member,
                                                        campaign_id=campaign.id)).extra["field"] == "keywords"

    def test_approval_runs_the_campaign_and_keeps_an_audit_row(self, company_a, staff):
        review = approve(company_a, staff)
        campaign = Campaign.objects.get(id=company_a.campaign.id)
        assert campaign.status == Campaign.Status.ACTIVE
        assert review.actor_name == "staff" and review.detail["from_status"] == "pending"
        assert set(review.detail["keywords"]) == {"a冷链 [phrase]", "温控a [phrase]", "-免费a"}
        assert not campaign.keywords.filter(review="pending").exists()
        assert campaign.promotions.get().review == "approved"
        assert CampaignChange.objects.filter(campaign=campaign, field="status", old="pending", new="active",
                                             actor_name="staff").exists()

    def test_a_rejection_needs_a_reason_and_the_advertiser_sees_it(self, company_a, staff):
        services.campaign_submit(membership=company_a.member, campaign_id=company_a.campaign.id)
        assert refusal(lambda: services.campaign_reject(campaign_id=company_a.campaign.id, actor=staff,
                                                        reason=" ")).extra["field"] == "reason"
        services.campaign_reject(campaign_id=company_a.campaign.id, actor=staff, reason="关键词与文章无关")
        campaign = Campaign.objects.get(id=company_a.campaign.id)
        assert campaign.status == Campaign.Status.REJECTED and campaign.rejection_reason == "关键词与文章无关"
        assert CampaignReview.objects.get(campaign=campaign).action == "reject"

    def test_a_change_to_an_approved_campaign_goes_back_to_review_alone(self, company_a, staff):
        approve(company_a, staff)
        services.keywords_add(membership=company_a.member, campaign_id=company_a.campaign.id, lines="新冷链词",
                              match_type="exact")
        campaign = Campaign.objects.get(id=company_a.campaign.id)
        assert campaign.status == Campaign.Status.ACTIVE  # the rest keeps running
        assert list(campaign.keywords.filter(review="pending").values_list("text", flat=True)) == ["新冷链词"]
        review = services.campaign_reject(campaign_id=campaign.id, actor=staff, reason="与业务无关")
        assert review.detail["keywords"] == ["新冷链词 [exact]"]
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.ACTIVE
        assert campaign.keywords.get(text="新冷链词").review == "rejected"
        assert campaign.keywords.get(text="a冷链").review == "approved"

    def test_nothing_to_review_is_refused(self, company_a, staff):
        approve(company_a, staff)
        assert refusal(lambda: services.campaign_approve(campaign_id=company_a.campaign.id,
                                                         actor=staff)).extra["code"] == "noop"


class TestPauseResumeHistory:
    def test_pause_and_resume_keep_who_when_old_and_new(self, company_a, staff):
        approve(company_a, staff)
        services.campaign_pause(membership=company_a.member, campaign_id=company_a.campaign.id)
        services.campaign_resume(membership=company_a.owner, campaign_id=company_a.campaign.id)
        rows = list(CampaignChange.objects.filter(campaign=company_a.campaign, field="status")
                    .order_by("id").values_list("actor_name", "old", "new"))
        assert rows[-2:] == [("a-member", "active", "paused"), ("a-owner", "paused", "active")]

    def test_bid_and_budget_changes_keep_their_history(self, company_a):
        services.campaign_update(membership=company_a.owner, campaign_id=company_a.campaign.id,
                                 max_bid=Decimal("1.20"), daily_budget=Decimal("60"))
        changes = {c.field: (c.old, c.new, c.actor_name) for c in CampaignChange.objects.filter(campaign=company_a.campaign)}
        assert changes["max_bid"] == ("1.00", "1.20", "a-owner")
        assert changes["daily_budget"] == ("50.00", "60.00", "a-owner")
        assert "name" not in changes

    def test_a_draft_cannot_be_paused(self, company_a):
        assert refusal(lambda: services.campaign_pause(membership=company_a.member,
                                                       campaign_id=company_a.campaign.id)).extra["code"] == "noop"

    def test_campaigns_and_promotions_are_never_deleted(self, company_a):
        from django.db.models import ProtectedError

        with pytest.raises(ProtectedError):
            company_a.advertiser.delete()
        with pytest.raises(ProtectedError):
            company_a.campaign.delete()
        assert Promotion.objects.filter(campaign=company_a.campaign).exists()
