"""A domain is verified by its token file or a meta tag, fetched from a local HTTP server."""
import ssl
import subprocess
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
    class Pages(dict):
        seen = []  # the Host header of every request

    pages = Pages()
    seen = pages.seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Host"))
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
def resolver(monkeypatch):
    """Stands in for DNS: answers[0] to the first lookup, answers[1] to any later one (a rebinding
    server's trick), and counts the lookups."""
    state = {"answers": [], "names": []}

    def resolve(name):
        state["names"].append(name)
        return state["answers"][min(len(state["names"]), len(state["answers"])) - 1]

    monkeypatch.setattr(services, "resolve_host", resolve)
    return state


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


NAME = "shop.advertiser.test"  # in no DNS: only the substituted resolver knows it


@pytest.mark.usefixtures("local_fetches")
def test_the_fetch_connects_to_the_address_that_was_checked(company_a, site, resolver):
    """One lookup; the connection goes to its answer with the name in the Host header, so a second
    answer (here a dead address) is never used."""
    host, pages = site
    port = host.split(":")[1]
    resolver["answers"] = [["127.0.0.1"], ["192.0.2.1"]]
    domain = services.domain_add(membership=company_a.member, domain=f"{NAME}:{port}")
    pages[services.VERIFY_FILE] = (200, domain.token)
    assert services.domain_verify(membership=company_a.member, domain_id=domain.id).verified_at is not None
    assert resolver["names"] == [NAME] and pages.seen == [f"{NAME}:{port}"]


@pytest.mark.parametrize("addresses", [
    ["127.0.0.1"], ["10.1.2.3"], ["192.168.0.10"], ["100.64.0.1"], ["169.254.169.254"], ["224.0.0.251"],
    ["239.255.255.250"], ["240.0.0.1"], ["0.0.0.0"], ["::1"], ["fe80::1"], ["fc00::1"], ["ff02::1"],
    ["::ffff:127.0.0.1"], ["64:ff9b::7f00:1"], ["93.184.215.14", "127.0.0.1"],
])
def test_a_name_with_any_non_public_address_is_refused_before_any_fetch(company_a, site, resolver, addresses):
    host, pages = site
    resolver["answers"] = [addresses]
    domain = services.domain_add(membership=company_a.member, domain=f"{NAME}:{host.split(':')[1]}")
    pages[services.VERIFY_FILE] = (200, domain.token)
    with pytest.raises(ApplicationError) as refused:
        services.domain_verify(membership=company_a.member, domain_id=domain.id)
    assert NAME in refused.value.message and resolver["names"] == [NAME] and pages.seen == []
    domain.refresh_from_db()
    assert domain.verified_at is None


def test_a_name_dns_does_not_know_is_refused(company_a, resolver):
    resolver["answers"] = [[]]
    domain = services.domain_add(membership=company_a.member, domain=NAME)
    with pytest.raises(ApplicationError) as refused:
        services.domain_verify(membership=company_a.member, domain_id=domain.id)
    assert "DNS" in refused.value.message


def _certificate(tmp_path, name):
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


@pytest.fixture
def tls_site(tmp_path):
    """A local HTTPS site on 127.0.0.1 whose certificate the test picks; records the SNI names asked for."""
    pages, seen = {}, {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen["host"].append(self.headers.get("Host"))
            status, body = pages.get(self.path, (404, "not found"))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    def serve(certificate_name):
        key, cert = _certificate(tmp_path, certificate_name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], cert

    servers = []
    yield serve, pages, seen
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.usefixtures("local_fetches")
def test_https_asks_for_the_name_and_checks_its_certificate_at_the_checked_address(
        company_a, resolver, tls_site, settings):
    serve, pages, seen = tls_site
    port, cert = serve(NAME)
    settings.AD_DOMAIN_VERIFY_CA_BUNDLE = str(cert)
    resolver["answers"] = [["127.0.0.1"], ["192.0.2.1"]]
    domain = services.domain_add(membership=company_a.member, domain=f"{NAME}:{port}")
    pages[services.VERIFY_FILE] = (200, domain.token)
    assert services.domain_verify(membership=company_a.member, domain_id=domain.id).verified_at is not None
    assert seen["sni"] == [NAME] and seen["host"] == [f"{NAME}:{port}"] and resolver["names"] == [NAME]


@pytest.mark.usefixtures("local_fetches")
def test_https_with_a_certificate_for_another_name_does_not_verify(company_a, resolver, tls_site, settings):
    serve, pages, seen = tls_site
    port, cert = serve("other.example")
    settings.AD_DOMAIN_VERIFY_CA_BUNDLE = str(cert)
    resolver["answers"] = [["127.0.0.1"]]
    domain = services.domain_add(membership=company_a.member, domain=f"{NAME}:{port}")
    pages[services.VERIFY_FILE] = (200, domain.token)
    with pytest.raises(ApplicationError):
        services.domain_verify(membership=company_a.member, domain_id=domain.id)
    domain.refresh_from_db()
    assert domain.verified_at is None and "SSLError" in domain.last_error and seen["host"] == []


# serialized_rollback like the other transactional tests in tests/ads: a plain transactional test's
# teardown re-creates the content types, and the next serialized test's restore then collides with them.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("local_fetches")
def test_the_portals_verify_button_works_outside_a_test_transaction(company_a, site, client):
    """Found by tests/site/test_hostile_requests.py: in autocommit, as in production, the service's
    select_for_update raised TransactionManagementError, a 500 for every press of the button."""
    host, pages = site
    domain = services.domain_add(membership=company_a.member, domain=host)
    pages[services.VERIFY_FILE] = (200, domain.token)
    client.force_login(company_a.member.user)
    response = client.post(f"/portal/domains/{domain.id}/verify/", follow=True, headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    domain.refresh_from_db()
    assert domain.verified_at is not None


@pytest.mark.parametrize("value", ["[::1", "https://[::1/", "http://[zz]/x"])
def test_a_domain_that_does_not_parse_is_refused_with_a_message(client, company_a, value):
    """Found by the hostile-request sweep: urlsplit raised ValueError (Invalid IPv6 URL), a 500."""
    client.force_login(company_a.owner.user)
    response = client.post("/portal/domains/", {"domain": value}, headers={"accept-language": "zh-hans"})
    assert response.status_code == 200 and "不是域名" in response.content.decode()
    from ads.models import VerifiedDomain  # noqa: PLC0415

    assert not VerifiedDomain.objects.filter(domain__contains="[").exists()
