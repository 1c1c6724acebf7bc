"""A domain is verified by its token file or a meta tag, fetched from a local HTTP server."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ads import services
from contentlib.errors import ApplicationError
from tests.ads.test_campaign_services import settings_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    """A local web site whose pages the test sets: {path: (status, body)}."""
    pages = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status, body = pages.get(self.path, (404, "not found"))
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", body)
                body = ""
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_fetches(settings):
    settings.AD_DOMAIN_VERIFY_ALLOW_PRIVATE = True  # the test's site is on 127.0.0.1
    settings.AD_DOMAIN_VERIFY_TIMEOUT_SECONDS = 2


@pytest.mark.usefixtures("local_fetches")
class TestVerification:
    def test_the_token_file_verifies_the_domain(self, company_a, site):
        host, pages = site
        domain = services.domain_add(membership=company_a.member, domain=f"http://{host}/")
        assert domain.domain == host and domain.verified_at is None
        pages[services.VERIFY_FILE] = (200, domain.token + "\n")
        assert services.domain_verify(membership=company_a.member, domain_id=domain.id).verified_at is not None

    def test_a_meta_tag_on_the_home_page_verifies_the_domain(self, company_a, site):
        host, pages = site
        domain = services.domain_add(membership=company_a.member, domain=host)
        pages["/"] = (200, f'<html><head><meta name="contentlib-verify" content="{domain.token}"></head></html>')
        assert services.domain_verify(membership=company_a.member, domain_id=domain.id).verified_at is not None

    def test_a_wrong_token_or_a_redirect_elsewhere_does_not(self, company_a, site):
        host, pages = site
        domain = services.domain_add(membership=company_a.member, domain=host)
        pages[services.VERIFY_FILE] = (200, "someone-elses-token")
        pages["/"] = (302, "http://elsewhere.example/")
        with pytest.raises(ApplicationError) as refused:
            services.domain_verify(membership=company_a.member, domain_id=domain.id)
        assert refused.value.extra["code"] == "unverified"
        domain.refresh_from_db()
        assert domain.verified_at is None and "HTTP 302" in domain.last_error

    def test_a_verified_domain_admits_landing_urls(self, company_a, site):
        host, pages = site
        domain = services.domain_add(membership=company_a.member, domain=host)
        pages[services.VERIFY_FILE] = (200, domain.token)
        services.domain_verify(membership=company_a.member, domain_id=domain.id)

        campaign = services.campaign_create(membership=company_a.member, **settings_for())
        promotion = services.promotion_add(membership=company_a.member, campaign_id=campaign.id,
                                           article_id=company_a.approved.id, landing_url=f"http://{host}/offer")
        assert promotion.landing_url == f"http://{host}/offer"

    def test_another_advertisers_domain_cannot_be_checked(self, company_a, company_b):
        with pytest.raises(ApplicationError) as refused:
            services.domain_verify(membership=company_b.member, domain_id=company_a.ids["domain_id"])
        assert refused.value.extra["code"] == "not_found"


def test_a_private_address_is_never_fetched(company_a, site):
    host, pages = site
    domain = services.domain_add(membership=company_a.member, domain=host)
    pages[services.VERIFY_FILE] = (200, domain.token)
    with pytest.raises(ApplicationError) as refused:
        services.domain_verify(membership=company_a.member, domain_id=domain.id)
    assert "private" in refused.value.message or "内部" in refused.value.message or "私有" in refused.value.message
    domain.refresh_from_db()
    assert domain.verified_at is None
