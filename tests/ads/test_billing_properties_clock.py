"""The sequence that made test_billing_properties fail once just after midnight in Shanghai, run on
its own: clicks in the machine's first hour (23:00, 1 December), then the daily budget lowered
below what they spent, then the day passing and the budget lowered again. The machine keeps one
clock, its own; the real one (here pinned to the next evening) must not matter."""
import datetime as dt
from unittest import mock

import pytest

from tests.ads.test_billing_properties import START, Billing

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("real", [
    START - dt.timedelta(days=1),
    START + dt.timedelta(minutes=59, seconds=59.9),  # 23:59:59.9 in Shanghai, 1 December
    START + dt.timedelta(hours=1, seconds=0.1),  # 00:00:00.1, 2 December: the failing run's moment
    START + dt.timedelta(days=1),
], ids=["day-before", "23:59:59.9", "00:00:00.1", "next-day"])
def test_the_books_hold_on_the_machines_clock_whatever_the_real_one_says(real, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with mock.patch("django.utils.timezone.now", return_value=real):
        machine = Billing()
        try:
            for _ in range(3):
                machine.click(price=100, valid=True, twice=False)  # 3.00 spent on 1 December
            machine.budgets(daily=200, total=1200)  # refused: below what was spent today
            machine.money_is_straight()
            machine.time_passes(hours=2)  # 01:00, 2 December: a new ad day
            machine.budgets(daily=200, total=1200)  # allowed: nothing spent today yet
            machine.money_is_straight()
            machine.click(price=100, valid=True, twice=False)
            machine.money_is_straight()
        finally:
            machine.teardown()
