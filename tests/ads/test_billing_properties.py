"""Hypothesis: any sequence of top-ups, clicks, viewable impressions, flushes, refunds, credits,
budget changes and days passing keeps the money straight: the balance never below zero (nor below
what is accrued), no campaign's spend over any of its limits, the balance equal to the ledger's
sum, and every campaign's ledger + accrued equal to its spend counter.

The machine keeps one clock, `now`, and the code under test reads it too (timezone.now is pinned to
it): services that take no time, such as campaign_update's "not below what was spent today", must
see the machine's ad day, not the real one. Today's spend is the counter of the machine's ad day; a
counter left from an earlier day may exceed a budget lowered since, as it may in production."""
import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ads import billing, events, selectors, services
from ads.events import Visitor
from ads.models import Advertiser, AdvertiserUser, Campaign, Click, Impression
from contentlib.errors import ApplicationError
from contentlib.readers import ad_day
from tests.ads.tracking_helpers import BOT, READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.timezone.utc)  # 23:00 in Shanghai
cents = st.integers(min_value=1, max_value=50_000).map(lambda n: Decimal(n) / 100)


class Billing(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        User = get_user_model()
        n = User.objects.count()
        self.staff = User.objects.create_superuser(f"staff{n}", f"staff{n}@example.com", "pw")
        self.cpc = make_campaign(bid="1.00", daily="5.00", total="12.00", balance="20.00")
        self.advertiser_id = self.cpc.advertiser_id
        self.cpm = make_campaign(pricing="cpm", bid="20.00", daily="0.10", total="0.25",
                                 advertiser=self.cpc.advertiser)
        owner = User.objects.create_user(f"owner{n}", f"owner{n}@example.com", "pw")
        self.membership = AdvertiserUser.objects.create(user=owner, advertiser_id=self.advertiser_id, role="owner")
        self.now = START
        self._clock = mock.patch("django.utils.timezone.now", new=lambda: self.now)
        self._clock.start()

    def teardown(self):
        self._clock.stop()

    def _serve(self, campaign, price, visitor):
        return events.impressions_serve(result=result_for(campaign, price=price), placement=placement(),
                                        visitor=visitor, now=self.now)[0].impression_id

    @rule(amount=cents)
    def top_up(self, amount):
        services.ledger_top_up(advertiser_id=self.advertiser_id, amount=amount, actor=self.staff)

    @rule(price=st.integers(min_value=30, max_value=100), valid=st.booleans(), twice=st.booleans())
    def click(self, price, valid, twice):
        impression = self._serve(self.cpc, Decimal(price) / 100, READER if valid else BOT)
        for _ in range(1 + twice):
            events.click_record(impression_id=impression, visitor=READER if valid else BOT,
                                at=self.now + dt.timedelta(seconds=5))

    @rule(price=st.integers(min_value=50, max_value=200), early=st.booleans(), again=st.booleans())
    def view(self, price, early, again):
        impression = self._serve(self.cpm, Decimal(price) / 10_000, READER)
        for _ in range(1 + again):
            events.viewable_record(impression_id=impression,
                                   at=self.now + dt.timedelta(seconds=0.5 if early else 2))

    @rule()
    def flush(self):
        billing.cpm_flush()

    @rule(amount=cents)
    def refund(self, amount):
        try:
            services.ledger_reverse(advertiser_id=self.advertiser_id, kind="refund", amount=amount, actor=self.staff,
                                    reason="退款")
        except ApplicationError:
            pass  # more than the balance left to spend: refused

    @rule(pick=st.integers(min_value=0, max_value=1000), click=st.booleans())
    def credit(self, pick, click):
        if click:
            billed = list(Click.objects.filter(campaign=self.cpc, billed=True, credited_at__isnull=True)
                          .values_list("id", flat=True))
        else:
            billed = list(Impression.objects.filter(campaign=self.cpm, cost__gt=0, credited_at__isnull=True)
                          .values_list("id", flat=True))
        if billed:
            event = f"{'click' if click else 'impression'}:{sorted(billed)[pick % len(billed)]}"
            billing.event_credit(event=event, actor=self.staff, reason="无效流量")

    @rule(daily=st.integers(min_value=100, max_value=800), total=st.integers(min_value=800, max_value=2000))
    def budgets(self, daily, total):
        try:
            services.campaign_update(membership=self.membership, campaign_id=self.cpc.id,
                                     daily_budget=Decimal(daily) / 100, total_budget=Decimal(total) / 100)
        except ApplicationError:
            pass  # below what was spent: refused

    @rule(hours=st.integers(min_value=1, max_value=30))
    def time_passes(self, hours):
        self.now += dt.timedelta(hours=hours)
        billing.daily_budgets_reset(at=self.now)

    @invariant()
    def money_is_straight(self):
        advertiser = Advertiser.objects.get(id=self.advertiser_id)
        assert advertiser.balance >= 0 and advertiser.balance - advertiser.accrued >= 0
        assert advertiser.balance == selectors.ledger_sum(advertiser_id=self.advertiser_id)
        campaigns = list(Campaign.objects.filter(id__in=[self.cpc.id, self.cpm.id]))
        assert advertiser.accrued == sum((c.accrued for c in campaigns), Decimal(0))
        for campaign in campaigns:
            assert 0 <= campaign.spend_total <= campaign.total_budget
            assert campaign.spend_today >= 0
            assert billing.today_spend(campaign, ad_day(self.now)) <= campaign.daily_budget
            assert billing.campaign_books(campaign.id)["agree"]


def test_any_sequence_of_money_moves_keeps_the_books(settings_fast_passwords):
    run_state_machine_as_test(Billing, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


@pytest.fixture
def settings_fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
