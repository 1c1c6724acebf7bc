"""Sign-up with the credit code check, staff decisions on advertisers, who may write, invitations."""
import datetime as dt

import pytest
from django.core import mail, signing
from django.utils import translation

from ads import credit_code, notices, services
from ads.models import Advertiser, AdvertiserUser
from contentlib.errors import ApplicationError

VALID_CODE = "91350100M000100Y43"  # the standard's worked example


def apply(**overrides):
    values = {"name": "杭州示例科技有限公司", "credit_code_value": VALID_CODE, "address": "杭州市西湖区文三路1号",
              "contact_name": "王小明", "phone": "0571-88888888", "email": "wang@example.com",
              "username": "wang", "password": "a-long-enough-passphrase-42"}
    values.update(overrides)
    return services.advertiser_apply(**values)


class TestCreditCode:
    def test_the_check_character_of_the_standards_example(self):
        assert credit_code.check_character(VALID_CODE[:17]) == "3"
        credit_code.validate_credit_code(VALID_CODE)
        credit_code.validate_credit_code(" 91350100m000100y43 ")  # spaces and lower case are normalized

    @pytest.mark.parametrize(("code", "says"), [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y44", "the last character should be “3”"),
        ("91350100M00010OY43", "“O” cannot appear"),
    ])
    def test_a_wrong_code_says_what_is_wrong_and_what_to_do(self, code, says):
        with translation.override("en"), pytest.raises(Exception) as refused:
            credit_code.validate_credit_code(code)
        assert says in refused.value.messages[0] and "business licence" in refused.value.messages[0]

    def test_the_message_is_in_chinese_by_default(self):
        with translation.override("zh-hans"), pytest.raises(Exception) as refused:
            credit_code.validate_credit_code("91350100M000100Y44")
        assert "校验位" in refused.value.messages[0]


@pytest.mark.django_db
class TestSignUp:
    def test_an_application_creates_an_applied_advertiser_and_its_owner(self):
        membership = apply()
        assert membership.role == AdvertiserUser.Role.OWNER
        assert membership.advertiser.status == Advertiser.Status.APPLIED
        assert membership.advertiser.credit_code == VALID_CODE
        assert membership.user.check_password("a-long-enough-passphrase-42")

    def test_nothing_can_be_submitted_before_staff_approve(self, staff):
        membership = apply()
        with pytest.raises(ApplicationError) as refused:
            services.submission_save(membership=membership, title="标题", body_markdown="正文")
        assert refused.value.extra["code"] == "forbidden"
        services.advertiser_decide(advertiser_id=membership.advertiser_id, actor=staff, status="active")
        membership.refresh_from_db()
        assert services.submission_save(membership=membership, title="标题", body_markdown="正文").article.id

    def test_a_wrong_credit_code_is_refused_with_its_field(self):
        with pytest.raises(ApplicationError) as refused:
            apply(credit_code_value="91350100M000100Y44")
        assert refused.value.extra["field"] == "credit_code"
        assert not Advertiser.objects.exists()

    def test_the_same_company_cannot_sign_up_twice(self):
        apply()
        with pytest.raises(ApplicationError) as refused:
            apply(name="另一个名字", username="li")
        assert refused.value.extra["field"] == "credit_code"

    def test_a_refusal_keeps_its_reason_and_needs_one(self, staff):
        membership = apply()
        with pytest.raises(ApplicationError):
            services.advertiser_decide(advertiser_id=membership.advertiser_id, actor=staff, status="refused")
        services.advertiser_decide(advertiser_id=membership.advertiser_id, actor=staff, status="refused",
                                   reason="营业执照与公司名称\x00不符")  # a raw POST value: no NUL reaches PostgreSQL
        advertiser = Advertiser.objects.get(id=membership.advertiser_id)
        assert advertiser.status == "refused" and advertiser.refusal_reason == "营业执照与公司名称不符"
        assert advertiser.decided_by_name == "staff"

    def test_an_editor_without_the_permission_cannot_decide(self, editor):
        membership = apply()
        editor.user_permissions.clear()
        editor.groups.clear()
        with pytest.raises(ApplicationError) as refused:
            services.advertiser_decide(advertiser_id=membership.advertiser_id, actor=editor, status="active")
        assert refused.value.extra["code"] == "forbidden"

    def test_editors_may_decide(self, editor):
        membership = apply()
        services.advertiser_decide(advertiser_id=membership.advertiser_id, actor=editor, status="active")
        assert Advertiser.objects.get(id=membership.advertiser_id).status == "active"


@pytest.mark.django_db
class TestWhoMayWrite:
    def test_a_reporter_changes_nothing(self, company_a):
        with pytest.raises(ApplicationError) as refused:
            services.campaign_pause(membership=company_a.reporter, campaign_id=company_a.campaign.id)
        assert refused.value.extra["code"] == "forbidden"
        with pytest.raises(ApplicationError):
            services.submission_save(membership=company_a.reporter, title="标题", body_markdown="正文")

    def test_a_suspended_advertiser_reads_but_cannot_submit_edit_or_resume(self, company_a, staff):
        services.advertiser_decide(advertiser_id=company_a.advertiser.id, actor=staff, status="suspended")
        for write in (
            lambda: services.submission_save(membership=company_a.owner, title="标题", body_markdown="正文"),
            lambda: services.submission_save(membership=company_a.owner, title="新标题", body_markdown="正文",
                                             article_id=company_a.approved.id),
            lambda: services.campaign_resume(membership=company_a.owner, campaign_id=company_a.campaign.id),
            lambda: services.keywords_add(membership=company_a.owner, campaign_id=company_a.campaign.id,
                                          lines="新词", match_type="exact"),
        ):
            with pytest.raises(ApplicationError) as refused:
                write()
            assert refused.value.extra["code"] == "forbidden"
            assert "suspended" in refused.value.message or "暂停" in refused.value.message


@pytest.mark.django_db
class TestInvitations:
    def test_the_owner_invites_and_the_link_creates_the_user_once(self, company_a):
        token = services.invitation_make(membership=company_a.owner, email="new@example.com", role="reporter")
        membership = services.invitation_accept(token=token, username="newbie", password="a-long-enough-passphrase-42")
        assert membership.advertiser_id == company_a.advertiser.id and membership.role == "reporter"
        with pytest.raises(ApplicationError) as refused:
            services.invitation_accept(token=token, username="newbie2", password="a-long-enough-passphrase-42")
        assert refused.value.extra["code"] == "used"

    def test_a_member_cannot_invite(self, company_a):
        with pytest.raises(ApplicationError) as refused:
            services.invitation_make(membership=company_a.member, email="x@example.com", role="member")
        assert refused.value.extra["code"] == "forbidden"

    def test_an_altered_link_is_refused(self, company_a):
        token = services.invitation_make(membership=company_a.owner, email="new@example.com", role="member")
        payload = signing.loads(token, salt=services.INVITATION_SALT)
        forged = signing.dumps({**payload, "advertiser": payload["advertiser"] + 1}, salt="another salt")
        with pytest.raises(ApplicationError) as refused:
            services.invitation_read(forged)
        assert refused.value.extra["code"] == "invalid"

    def test_an_expired_link_is_refused(self, company_a, monkeypatch):
        token = services.invitation_make(membership=company_a.owner, email="new@example.com", role="member")
        later = dt.datetime.now().timestamp() + 8 * 24 * 3600
        monkeypatch.setattr(signing.time, "time", lambda: later)
        with pytest.raises(ApplicationError) as refused:
            services.invitation_read(token)
        assert refused.value.extra["code"] == "expired"


@pytest.mark.django_db
class TestNotices:
    def test_each_decision_is_emailed_once_to_the_owner(self, staff, django_capture_on_commit_callbacks):
        membership = apply()
        services.advertiser_decide(advertiser_id=membership.advertiser_id, actor=staff, status="active")
        assert notices.notices_send() >= 1
        assert notices.notices_send() == 0
        approved = [m for m in mail.outbox if membership.user.email in m.to]
        assert len(approved) == 1 and "批准" in approved[0].subject

    def test_an_article_rejection_is_emailed_with_its_reason(self, company_a, staff):
        from contentlib import services as library

        notices.notices_send()
        mail.outbox.clear()
        library.article_reject(article_id=company_a.pending.id, actor=staff, reason="含有绝对化用语")
        notices.notices_send()
        notices.notices_send()
        sent = [m for m in mail.outbox if "含有绝对化用语" in m.body]
        assert len(sent) == 1 and sent[0].to == [company_a.owner.user.email]

    def test_a_low_balance_is_emailed_once(self, company_a, staff):
        notices.notices_send()
        mail.outbox.clear()
        services.ledger_reverse(advertiser_id=company_a.advertiser.id, kind="refund", amount="950", actor=staff,
                                reason="客户要求退款")
        assert notices.notices_send() == 1
        services.ledger_reverse(advertiser_id=company_a.advertiser.id, kind="refund", amount="10", actor=staff,
                                reason="客户要求退款")
        assert notices.notices_send() == 0
        assert len([m for m in mail.outbox if "余额" in m.subject]) == 1

    def test_a_campaign_decision_is_emailed_with_its_reason_and_parts(self, company_a, staff):
        notices.notices_send()
        mail.outbox.clear()
        services.campaign_submit(membership=company_a.member, campaign_id=company_a.campaign.id)
        services.campaign_reject(campaign_id=company_a.campaign.id, actor=staff, reason="关键词与推广文章无关")
        assert notices.notices_send() == 1 and notices.notices_send() == 0
        (sent,) = mail.outbox
        assert "推广计划被驳回" in sent.subject and "关键词与推广文章无关" in sent.body and "a冷链" in sent.body

    def test_a_campaign_near_its_end_date_is_emailed_once(self, company_a, staff, settings):
        from ads.models import Campaign
        from contentlib.readers import ad_day

        notices.notices_send()
        mail.outbox.clear()
        settings.AD_CAMPAIGN_END_NOTICE_DAYS = 3
        Campaign.objects.filter(id=company_a.campaign.id).update(status="active",
                                                                 end_date=ad_day() + dt.timedelta(days=2))
        assert notices.notices_send() == 1 and notices.notices_send() == 0
        assert "即将结束" in mail.outbox[0].subject
