"""VIP memberships in the library core: granted, renewed from the current end, expiring, reversed by a
refund, and reminded once before they end."""
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from contentlib import services
from contentlib.errors import ApplicationError
from contentlib.models import Membership, MembershipGrant


@pytest.fixture
def member(db):
    return get_user_model().objects.create_user(username="m@example.com", email="m@example.com",
                                                password="pw-for-tests-only")


def extend(user, days=30, source="payment"):
    return services.membership_extend(user_id=user.id, days=days, plan_slug="monthly", source=source)


def test_a_new_membership_runs_from_now(member):
    before = timezone.now()
    grant = extend(member)
    membership = Membership.objects.get(user=member)
    assert before + timedelta(days=30) <= membership.until <= timezone.now() + timedelta(days=30)
    assert grant.until_after == membership.until and grant.days == 30


def test_renewal_extends_from_the_current_end(member):
    first = extend(member).until_after
    second = extend(member, days=365)
    assert second.until_before == first and second.until_after == first + timedelta(days=365)


def test_after_a_lapse_renewal_starts_again_from_now(member):
    extend(member)
    Membership.objects.filter(user=member).update(until=timezone.now() - timedelta(days=10))
    grant = extend(member)
    assert grant.until_after - timezone.now() > timedelta(days=29, hours=23)


def test_a_reversal_takes_the_days_back_once(member):
    grant = extend(member)
    reversal = services.membership_grant_reverse(grant_id=grant.id)
    assert reversal.days == -30 and reversal.reverses == grant
    assert Membership.objects.get(user=member).until == grant.until_before
    with pytest.raises(ApplicationError, match="已经冲回过了"):
        services.membership_grant_reverse(grant_id=grant.id)


def test_grants_are_refused_without_days_or_with_an_unknown_source(member):
    with pytest.raises(ApplicationError):
        extend(member, days=0)
    with pytest.raises(ApplicationError):
        extend(member, source="gift")
    assert not MembershipGrant.objects.exists()


class TestReminders:
    def test_one_reminder_before_the_end_whatever_the_runs(self, member):
        extend(member, days=5)
        call_command("membership_reminders", "--days", "7")
        call_command("membership_reminders", "--days", "7")
        services.membership_reminders_send(days_before=7)
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["m@example.com"] and mail.outbox[0].subject == "你的VIP会员即将到期"
        assert "到期" in mail.outbox[0].body

    def test_not_yet_when_the_end_is_far(self, member):
        extend(member, days=30)
        assert services.membership_reminders_send(days_before=7) == 0 and mail.outbox == []

    def test_a_renewal_earns_a_new_reminder_for_the_new_end(self, member):
        extend(member, days=5)
        services.membership_reminders_send(days_before=7)
        extend(member, days=30)
        later = timezone.now() + timedelta(days=30)
        assert services.membership_reminders_send(days_before=7, now=later) == 1
        assert len(mail.outbox) == 2

    def test_a_failed_send_is_tried_again_next_time(self, member):
        extend(member, days=5)
        with mock.patch("django.core.mail.send_mail", side_effect=OSError("mail server down")), \
                pytest.raises(OSError):
            services.membership_reminders_send(days_before=7)
        assert Membership.objects.get(user=member).reminded_until is None
        assert services.membership_reminders_send(days_before=7) == 1

    def test_lapsed_members_get_no_reminder(self, member):
        extend(member, days=5)
        Membership.objects.filter(user=member).update(until=timezone.now() - timedelta(hours=1))
        assert services.membership_reminders_send(days_before=7) == 0

    def test_the_celery_task_sends_them(self, member, settings):
        from payments.tasks import membership_reminders  # noqa: PLC0415

        settings.MEMBERSHIP_REMINDER_DAYS = 7
        extend(member, days=5)
        assert membership_reminders.delay().get() == 1
