from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from payments.models import Plan
from tests.payments.fake_stripe import FakeStripe

API_KEY = "sk_test_local_gateway_key"
WEBHOOK_SECRET = "whsec_local_gateway_secret_for_tests"


@pytest.fixture
def plan(db):
    return Plan.objects.create(slug="monthly", name="VIP月卡", name_en="VIP monthly", price=Decimal("30.00"),
                               period_days=30)


@pytest.fixture
def reader(db):
    return get_user_model().objects.create_user(username="reader@example.com", email="reader@example.com",
                                                password="a-long-reader-password")


@pytest.fixture
def stripe_gateway(settings):
    """The local Stripe, with our settings pointing at it."""
    with FakeStripe(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET) as gateway:
        settings.STRIPE_SECRET_KEY = API_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = gateway.base
        yield gateway
