"""Hostile requests to every public URL: whatever a client sends (NUL bytes, broken percent-encoding,
10,000-character values, repeated parameters, absurd page numbers, wrong methods, forged CSRF,
bodies that are not UTF-8, JSON that is not an object, oversized bodies), the answer is never a 5xx and
never a traceback; and markup an enterprise types is never rendered on any page.

The walk reads the URL patterns from django.urls.get_resolver(), so a new URL is covered without
editing this file; a pattern whose parameters the walk cannot fill is a failure that says so."""
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from payments.models import Plan
from tests.ads.conftest import _fast_passwords, make_company, staff  # noqa: F401 - fixtures
from tests.payments.conftest import stripe_gateway  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)  # a failed query must not poison the rest of the walk

LONG = "长" * 10_000
# Raw query strings, as a client may send them (the test client passes QUERY_STRING through as is).
QUERIES = [
    "q=%00&page=%00&lang=%00&category=%00&next=%00&sort=%00&placement=%00&answer=%00",
    "q=a%00b&page=1%00&reason=x%00y",
    "q=%ED%A0%80&page=%ED%A0%80&sort=%ED%A0%80&next=%ED%A0%80",  # a lone surrogate, UTF-8-encoded
    "q=%FF%FE%&page=%zz&sort=%C3&next=%E4%B8",  # invalid percent-encoding and truncated sequences
    f"q={LONG}&answer={LONG}&page={LONG}&sort={LONG}&next={LONG}&placement={LONG}&lang={LONG}&category={LONG}",
    "q=a&q=b&page=1&page=2&sort=day&sort=-day&lang=zh&lang=en&placement=a&placement=b",
    "page=-1&sort=-1", "page=0", "page=99999999999999999999999999", "page=1e309&sort=nan",
    "start=0000-00-00&end=9999-99-99&from=-1&to=abc&day=2026-02-30&campaign=-5&placement=%00&format=%00",
    "next=javascript:alert(1)&next=//evil.example/&back=http://evil.example",
    "next=https://[::1&back=http://[zz]/&url=https://[::1/x",  # not URLs: urlsplit raises ValueError
]
# Headers a browser never sends but anyone can: not URLs, and a NUL.
HEADERS = [{"HTTP_ORIGIN": "https://[::1", "HTTP_REFERER": "https://[::1/x"},
           {"HTTP_ORIGIN": "null", "HTTP_REFERER": "\x00", "HTTP_ACCEPT_LANGUAGE": "\x00;q=x,zz-" + "x" * 5000}]
BODIES = [
    ("application/x-www-form-urlencoded", b"q=\xff\xfe\xfd&title=\xc3&email=%00&text=a%00b"),
    ("application/x-www-form-urlencoded; charset=latin-1", "q=caf\xe9&title=\xe9".encode("latin-1")),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"q=a"),
    ("application/json", b"[1, 2, 3]"),
    ("application/json", b'"a string"'),
    ("application/json", b"\xff\xfe not json"),
    ("application/json", b'{"a": {"b": [' + b"[" * 5000 + b"]" * 5000 + b"]}}"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n\xff\r\n--x"),
    ("multipart/form-data", b"no boundary"),
    ("text/plain", b"\x00" * 100),
    ("application/x-www-form-urlencoded", b"q=" + b"x" * (3 * 1024 * 1024)),  # over DATA_UPLOAD_MAX_MEMORY_SIZE
]
METHODS = ["put", "patch", "delete", "options", "head"]


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def public_routes() -> list[tuple[str, URLPattern]]:
    """Every route but the admin's (staff only; Django's own)."""
    return [(route, p) for route, p in walk(get_resolver().url_patterns) if not route.startswith("admin/")]


@pytest.fixture
def world(staff, stripe_gateway):  # noqa: F811 - the webhook checks signatures, as configured in production
    company = make_company("A", staff=staff)
    plan = Plan.objects.create(name="月度会员", price="30.00", period_days=30)
    return {**company.ids, "plan_id": plan.id, "job_id": 1, "company": company}


def concrete_paths(route: str, pattern: URLPattern, world: dict) -> list[str]:
    """The route with real ids (the owner's objects), then with hostile values in every parameter."""
    real, hostile = route, [route]
    for name, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__
        prefix = {"IntConverter": "int:", "StringConverter": "str:"}.get(kind, "")
        marker = next((m for m in (f"<{prefix}{name}>", f"<{name}>") if m in route), None)
        assert marker, f"cannot fill {name} ({kind}) in {route}: teach this walk its converter"
        value = world.get(name, "x")
        real = real.replace(marker, str(value))
        bad = ["0", "99999999999999999999"] if kind == "IntConverter" else [
            "%00", "%FF%FE", "x" * 10_000, "..%2F..%2Fetc%2Fpasswd", "%ED%A0%80", "a.b.c"]
        hostile = [h.replace(marker, b) for h in hostile for b in bad]
    return ["/" + real] + ["/" + h for h in hostile]


def requests_for(path: str):
    yield "get", path, {}
    for query in QUERIES:
        yield "get", f"{path}?{query}", {}
    for content_type, body in BODIES:
        yield "generic", path, {"method": "POST", "data": body, "content_type": content_type}
    yield "post", path, {"data": {"q": LONG, "title": "<script>alert(1)</script>", "email": LONG}}
    for method in METHODS:
        yield method, path, {}
    for headers in HEADERS:
        yield "get", path, headers
        yield "post", path, {"data": {"q": "x"}, **headers}


def test_every_public_url_answers_hostile_requests_without_a_server_error(world):
    """Anonymous, as an enterprise's owner and as staff; GET, POST and the other methods."""
    owner, staff = world["company"].owner.user, get_staff()
    failures, walked = [], 0
    for route, pattern in public_routes():
        real, *hostile = concrete_paths(route, pattern, world)
        for path in [real, *hostile]:
            for who in (None, owner, staff):
                client = Client(raise_request_exception=False, HTTP_USER_AGENT="Mozilla/5.0 Chrome/120.0")
                if who is not None:
                    client.force_login(who)
                for method, url, kwargs in requests_for(path) if path == real else [
                        ("get", path, {}), ("post", path, {"data": {"q": "x"}})]:
                    walked += 1
                    if method == "generic":
                        response = client.generic(kwargs["method"], url, kwargs["data"],
                                                  content_type=kwargs["content_type"])
                    else:
                        response = getattr(client, method)(url, **kwargs)
                    body = b"" if response.streaming else response.content
                    if response.status_code >= 500 or b"Traceback (most recent call last)" in body:
                        failures.append(f"{method.upper()} {url[:120]} as {who}: {response.status_code} "
                                        f"{getattr(response, 'exc_info', None) and response.exc_info[1]!r}"[:400])
    assert walked > 1000
    assert not failures, "\n".join(failures)


def get_staff():
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    return get_user_model().objects.get(username="staff")


def test_a_forged_or_missing_csrf_token_is_refused_without_a_server_error(world):
    """Every URL that takes a POST, with CSRF checks on: no 5xx, and nothing it writes is written."""
    from ads.models import Campaign  # noqa: PLC0415

    owner = world["company"].owner.user
    statuses = Campaign.objects.values_list("id", "status")
    before = list(statuses)
    failures = []
    for route, pattern in public_routes():
        path = concrete_paths(route, pattern, world)[0]
        for cookie in (None, "forged" * 6):
            client = Client(enforce_csrf_checks=True, raise_request_exception=False)
            client.force_login(owner)
            if cookie:
                client.cookies["csrftoken"] = cookie
            response = client.post(path, {"csrfmiddlewaretoken": "forged" * 6, "q": "x"})
            if response.status_code >= 500:
                failures.append(f"POST {path}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert list(statuses) == before


EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">y</a>'


def test_markup_typed_anywhere_is_never_rendered_on_any_page(world):
    """An enterprise's markup in its name, campaign, keyword, headline, article title and Markdown, the
    article approved: every GET page (readers', portal, reports, every admin list and the objects' admin
    pages) shows it as text, with no inline script, handler or javascript: URL (the CSP's rule too)."""
    from django.urls import reverse  # noqa: PLC0415

    from ads import services  # noqa: PLC0415
    from ads.models import Advertiser  # noqa: PLC0415
    from contentlib import services as library  # noqa: PLC0415
    from tests.contentlib.test_security import inline_code  # noqa: PLC0415

    company, staff = world["company"], get_staff()
    Advertiser.objects.filter(id=company.advertiser.id).update(name="坏公司" + EVIL)
    services.keywords_add(membership=company.member, campaign_id=company.campaign.id, lines="冷链" + EVIL,
                          match_type="exact")
    article = services.submission_save(membership=company.member, title="标题" + EVIL,
                                       body_markdown="正文 " + EVIL + "\n\n[点](javascript:alert(3))\n\n"
                                                     "<iframe src=//evil.example></iframe>").article
    library.article_approve(article_id=article.id, actor=staff)
    world = {**world, "article_id": article.id}
    pages = [concrete_paths(route, pattern, world)[0] for route, pattern in public_routes()]
    pages += [f"/search/?q=标题", "/articles/?page=1"]
    admin_pages = [f"/{route}" for route, pattern in walk(get_resolver().url_patterns)
                   if route.startswith("admin/") and route.endswith("/") and not pattern.pattern.converters
                   and pattern.name and pattern.name.endswith("_changelist")]
    admin_pages += [reverse("admin:ads_advertiser_change", args=[company.advertiser.id]),
                    reverse("admin:contentlib_article_change", args=[article.id]),
                    reverse("admin:ads_campaign_change", args=[company.campaign.id])]
    problems, shown = [], 0
    for who, urls in ((None, pages), (company.owner.user, pages), (staff, pages + admin_pages)):
        client = Client()
        if who is not None:
            client.force_login(who)
        for url in urls:
            response = client.get(url)
            if "html" not in response.get("Content-Type", "") or response.status_code != 200:
                continue
            html = response.content.decode()
            shown += "&lt;script&gt;" in html
            if inline_code(html) or "<img src=x" in html or "<iframe" in html:
                problems.append(f"{url} as {who}: {inline_code(html)[:3]}")
    assert shown >= 10, "the payload should be on many pages, escaped"
    assert not problems, "\n".join(problems)


def form_fields(html: str) -> list[tuple[str, list[str]]]:
    """(action, field names) of every POST form on the page."""
    import re  # noqa: PLC0415

    forms = []
    for attrs, body in re.findall(r"<form([^>]*method=\"post\"[^>]*)>(.*?)</form>", html, re.S | re.I):
        action = re.search(r'action="([^"]*)"', attrs)
        names = re.findall(r'<(?:input|textarea|select)[^>]*name="([^"]+)"', body)
        forms.append((action.group(1) if action else "", [n for n in names if n != "csrfmiddlewaretoken"]))
    return forms


@pytest.mark.parametrize("payload", [EVIL + "\x00", "x" * 100_000, "=HYPERLINK(\"http://evil.example\")",
                                     "https://[::1"])
def test_every_form_on_every_page_takes_hostile_values_without_a_server_error(world, payload):
    """Each POST form the pages show (readers', portal, reports), every field filled with the payload:
    a NUL (PostgreSQL refuses it), 100,000 characters, a formula. A form error, never a 5xx."""
    from html import unescape  # noqa: PLC0415

    owner, staff = world["company"].owner.user, get_staff()
    failures, posted = [], 0
    for who in (None, owner, staff):
        client = Client(raise_request_exception=False)
        if who is not None:
            client.force_login(who)
        for route, pattern in public_routes():
            path = concrete_paths(route, pattern, world)[0]
            page = client.get(path)
            if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
                continue
            for action, names in form_fields(page.content.decode()):
                target = unescape(action) or path
                if "logout" in target or not names:
                    continue
                posted += 1
                response = client.post(target, {name: payload for name in names})
                if response.status_code >= 500:
                    failures.append(f"POST {target} {names} as {who}: {response.status_code} "
                                    f"{getattr(response, 'exc_info', None) and response.exc_info[1]!r}"[:300])
        if who is not None:
            client.logout()
    assert posted > 20
    assert not failures, "\n".join(failures)
