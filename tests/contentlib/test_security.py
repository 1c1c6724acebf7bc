"""Production security: the key, HTTPS settings, check --deploy, the Content-Security-Policy, login
throttling, the search rate limit, error pages and how a 403 is logged."""
import logging
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.templatetags.static import static
from django.urls import reverse

from contentlib import services
from tests.contentlib.test_ratelimit import redis_cache  # noqa: F401 - fixture

README = Path(settings.BASE_DIR, "README.md")


def run_django(code: str, *, data_dir: Path | None = None, **variables) -> subprocess.CompletedProcess:
    """Runs `code` after django.setup() in a fresh process with only `variables` set of ours."""
    ours = ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "LOCAL_SECRET_KEY", "DEBUG", "CACHE_URL", "HTTPS")
    environment = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith("SECURE_")}
    if data_dir is not None:
        environment["DATA_DIR"] = str(data_dir)
    environment.update(variables)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )


def documented_production_settings() -> dict[str, str]:
    """The variables README.md documents for production (the block after its production-settings marker)."""
    text = README.read_text()
    block = text.split("<!-- production-settings -->", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    variables = dict(line.split("=", 1) for line in block.splitlines() if re.match(r"^[A-Z_]+=", line))
    variables["SECRET_KEY"] = secrets.token_urlsafe(50)  # documented as a placeholder
    return variables


class TestSecretKey:
    def test_debug_off_without_a_key_refuses_to_start(self, tmp_path):
        result = run_django("print('started')", data_dir=tmp_path, DEBUG="0")
        assert result.returncode != 0 and "started" not in result.stdout
        assert "SECRET_KEY is unset and DEBUG=0. Set SECRET_KEY" in result.stderr
        assert not (tmp_path / "secret_key").exists()

    def test_the_published_development_key_refuses_to_start(self, tmp_path):
        result = run_django("print('started')", data_dir=tmp_path, SECRET_KEY="dev-only-insecure-secret-key-change-me")
        assert result.returncode != 0
        assert "SECRET_KEY is the published development key" in result.stderr

    def test_local_use_generates_a_key_once_and_keeps_it(self, tmp_path):
        show = "from django.conf import settings; print(settings.SECRET_KEY)"
        first = run_django(show, data_dir=tmp_path, LOCAL_SECRET_KEY="1")
        second = run_django(show, data_dir=tmp_path, LOCAL_SECRET_KEY="1")
        assert first.returncode == 0, first.stderr
        key = first.stdout.strip()
        assert len(key) >= 50 and second.stdout.strip() == key
        assert (tmp_path / "secret_key").read_text().strip() == key
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # this user's only


class TestProductionSettings:
    def test_check_deploy_is_clean_under_the_documented_production_settings(self, tmp_path):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
            env={**{k: v for k, v in os.environ.items() if k not in ("LOCAL_SECRET_KEY", "DATABASE_URL")},
                 "DATA_DIR": str(tmp_path), **documented_production_settings()},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout

    def test_check_deploy_warns_without_them(self, tmp_path):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"], cwd=settings.BASE_DIR, capture_output=True,
            text=True, timeout=120,
            env={**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "DATA_DIR": str(tmp_path)},
        )
        for warning in ("security.W004", "security.W008", "security.W012", "security.W016", "contentlib.W001"):
            assert warning in result.stdout + result.stderr

    @pytest.mark.parametrize(("variables", "expected"), [
        ({}, {"SESSION_COOKIE_SECURE": False, "SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0,
              "SECURE_PROXY_SSL_HEADER": None}),
        ({"SESSION_COOKIE_SECURE": "1"}, {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": False}),
        ({"HTTPS": "1"}, {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
                          "SECURE_HSTS_SECONDS": 31536000}),
        ({"HTTPS": "1", "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "600"},
         {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 600}),
        ({"SECURE_PROXY_SSL_HEADER": "1", "TRUSTED_PROXY_COUNT": "1"},
         {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"), "TRUSTED_PROXY_COUNT": 1}),
    ])
    def test_each_https_setting_comes_from_the_environment(self, tmp_path, variables, expected):
        names = sorted(expected)
        code = ("from django.conf import settings; "
                f"print(repr([getattr(settings, name, None) for name in {names!r}]))")
        result = run_django(code, data_dir=tmp_path, LOCAL_SECRET_KEY="1", **variables)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == repr([expected[name] for name in names])

    def test_defaults(self):
        assert settings.SEARCH_RATE_LIMIT_PER_MINUTE == 30
        assert settings.AD_TIME_ZONE == "Asia/Shanghai"
        assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
        assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


class _InlineFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, <style>, style="",
    on*="" handlers and javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._script = "src" not in attrs and attrs.get("type", "text/javascript") in ("text/javascript", "module")
        for name, value in attrs.items():
            if name == "style":
                self.found.append(f'<{tag} style="{value}">')
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_data(self, data):
        if self._script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False


def inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.mark.django_db
class TestContentSecurityPolicy:
    @pytest.fixture
    def pages(self, client, editor, article_factory):
        """Every kind of page a reader or an editor opens, rendered."""
        article = article_factory(text="第一段：冷库温控。\n第二段：<b>干线</b>运输。")
        services.article_approve(article_id=article.id, actor=editor)
        revision = services.article_upsert(title=article.title, text=article.text + "\n第三段：新增。",
                                           origin="crawled", canonical_url=article.canonical_url).revision
        pending = article_factory()
        urls = [reverse("site:article_list"), reverse("site:article_detail", args=[article.id]),
                reverse("site:search") + "?q=冷库", "/no-such-page/", reverse("site:login"), reverse("admin:login")]
        anonymous = {url: client.get(url) for url in urls}
        client.force_login(editor)
        urls = [reverse("admin:index"), reverse("admin:contentlib_article_changelist"),
                reverse("admin:contentlib_article_change", args=[pending.id]),
                reverse("admin:contentlib_article_change", args=[article.id]),
                reverse("admin:contentlib_articlerevision_changelist"),
                reverse("admin:contentlib_articlerevision_change", args=[revision.id]),
                reverse("admin:crawlers_crawlrun_changelist"), reverse("admin:crawlers_crawlpage_changelist")]
        return anonymous | {url: client.get(url) for url in urls}

    def test_every_page_has_a_policy_without_unsafe_inline(self, pages):
        for url, response in pages.items():
            policy = response.headers.get("Content-Security-Policy", "")
            assert "default-src 'self'" in policy and "script-src 'self'" in policy, url
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
            assert "frame-ancestors 'none'" in policy, url

    def test_no_page_holds_inline_script_or_style(self, pages):
        for url, response in pages.items():
            assert response.status_code in (200, 404), (url, response.status_code)
            assert inline_code(response.content.decode()) == [], url

    def test_no_template_of_ours_holds_inline_script_or_style(self):
        templates = [p for package in ("contentlib", "crawlers", "recommender", "ads")
                     for p in Path(settings.BASE_DIR, package).rglob("templates/**/*.html")]
        assert len(templates) > 10
        for template in templates:
            source = template.read_text()
            assert inline_code(source) == [], template
            assert "<style" not in source and not re.search(r"\sstyle=", source), template

    def test_the_finder_finds_what_it_looks_for(self):
        assert len(inline_code('<p style="color:red" onclick="x()"><script>alert(1)</script>'
                               '<style>p{}</style><a href="javascript:x()">')) == 5
        assert inline_code('<script src="/static/a.js"></script><script type="application/json">{}</script>') == []


@pytest.mark.django_db
class TestLoginThrottling:
    def _fail(self, client, url, username, times):
        for _ in range(times):
            response = client.post(url, {"username": username, "password": "wrong-password"})
            assert response.status_code in (200, 429)

    @pytest.mark.parametrize("login_url", ["admin:login", "site:login", "portal:login"])
    def test_the_right_password_is_refused_after_too_many_wrong_ones(self, client, editor, login_url, settings):
        url = reverse(login_url)
        self._fail(client, url, "editor", settings.AXES_FAILURE_LIMIT)
        response = client.post(url, {"username": "editor", "password": "pw-for-tests-only"})
        assert response.status_code == 429
        page = response.content.decode()
        assert "登录失败次数过多" in page and 'href="/"' in page  # the reader's language, a way home
        assert "_auth_user_id" not in client.session

    def test_below_the_limit_the_right_password_works(self, client, editor, settings):
        url = reverse("admin:login")
        self._fail(client, url, "editor", settings.AXES_FAILURE_LIMIT - 1)
        response = client.post(url, {"username": "editor", "password": "pw-for-tests-only",
                                     "next": reverse("admin:index")})
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(editor.id)

    def test_another_client_is_not_locked_out(self, client, editor, settings):
        url = reverse("admin:login")
        self._fail(client, url, "editor", settings.AXES_FAILURE_LIMIT)
        elsewhere = client.post(url, {"username": "editor", "password": "pw-for-tests-only"},
                                REMOTE_ADDR="198.51.100.20")
        assert elsewhere.status_code == 302

    def test_the_lockout_page_speaks_english_to_english_readers(self, client, editor, settings):
        url = reverse("site:login")
        self._fail(client, url, "editor", settings.AXES_FAILURE_LIMIT)
        response = client.post(url, {"username": "editor", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 429 and "Too many failed sign-ins" in response.content.decode()


@pytest.fixture
def fast_search(monkeypatch):
    """Searches that skip retrieval (its cost is not what these tests measure)."""
    import recommender.retrieval

    class Nothing:
        nothing_fits, hits = True, []

    monkeypatch.setattr(recommender.retrieval, "retrieve", lambda query, k=10: Nothing())


def _search_rate_limit(client, settings, *, remote="203.0.113.7", **headers):
    settings.SEARCH_RATE_LIMIT_PER_MINUTE = 3
    statuses = [client.get(reverse("site:search"), {"q": f"冷链 {i}"}, REMOTE_ADDR=remote, **headers).status_code
                for i in range(3)]
    return statuses, client.get(reverse("site:search"), {"q": "冷链"}, REMOTE_ADDR=remote, **headers)


@pytest.mark.django_db
class TestSearchRateLimit:
    @pytest.fixture(autouse=True)
    def _empty_cache(self):
        cache.clear()
        yield
        cache.clear()

    def test_the_search_over_the_limit_is_refused_in_the_readers_language(self, client, settings, fast_search):
        statuses, refused = _search_rate_limit(client, settings)
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
        page = refused.content.decode()
        assert "搜索" in page and "3" in page and 'href="/"' in page
        english = client.get(reverse("site:search"), {"q": "x"}, REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en")
        assert english.status_code == 429 and "You have searched 3 times in the last minute" in english.content.decode()

    def test_other_clients_are_not_limited(self, client, settings, fast_search):
        _search_rate_limit(client, settings)
        assert client.get(reverse("site:search"), {"q": "冷链"}, REMOTE_ADDR="203.0.113.8").status_code == 200

    def test_a_forged_forwarded_for_does_not_escape_the_limit(self, client, settings, fast_search):
        settings.TRUSTED_PROXY_COUNT = 0
        _search_rate_limit(client, settings)
        dodged = client.get(reverse("site:search"), {"q": "冷链"}, REMOTE_ADDR="203.0.113.7",
                            HTTP_X_FORWARDED_FOR="192.0.2.99")
        assert dodged.status_code == 429

    def test_behind_a_proxy_each_client_counts_alone(self, client, settings, fast_search):
        settings.TRUSTED_PROXY_COUNT = 1
        statuses, refused = _search_rate_limit(client, settings, remote="10.0.0.2",
                                               HTTP_X_FORWARDED_FOR="198.51.100.1")
        assert refused.status_code == 429
        other = client.get(reverse("site:search"), {"q": "冷链"}, REMOTE_ADDR="10.0.0.2",
                           HTTP_X_FORWARDED_FOR="198.51.100.2")
        assert other.status_code == 200

    def test_an_empty_search_page_costs_nothing(self, client, settings):
        settings.SEARCH_RATE_LIMIT_PER_MINUTE = 1
        assert [client.get(reverse("site:search")).status_code for _ in range(3)] == [200, 200, 200]


def test_the_limit_is_counted_in_redis(redis_cache):  # noqa: F811 - the fixture from test_ratelimit
    """Production counts in Redis, shared by every web process: the same window seen from two cache clients."""
    from django.core.cache import caches

    from contentlib.ratelimit import rate_limit_hit

    now = 1_800_000_000.0
    assert [rate_limit_hit(scope="search", client="c", limit=2, now=now).allowed for _ in range(3)] == [
        True, True, False]
    assert caches["default"].get(f"ratelimit:search:c:{int(now // 60)}") == 2
    assert rate_limit_hit(scope="search", client="c", limit=2, now=now + 120).allowed  # two windows later


class TestSlidingWindow:
    def test_straddling_a_window_boundary_does_not_double_the_allowance(self, settings):
        from contentlib.ratelimit import rate_limit_hit

        cache.clear()
        start = 1_800_000_000.0 - (1_800_000_000.0 % 60) + 50  # 10 seconds before a boundary
        allowed = [rate_limit_hit(scope="t", client="c", limit=5, now=start).allowed for _ in range(5)]
        after = [rate_limit_hit(scope="t", client="c", limit=5, now=start + 15).allowed for _ in range(5)]
        assert allowed == [True] * 5 and after.count(True) <= 1
        later = rate_limit_hit(scope="t", client="c", limit=5, now=start + 70)
        assert later.allowed  # a minute on, the first five have slid out


@pytest.mark.django_db
class TestErrorPages:
    def test_404_in_the_site_layout_and_the_readers_language(self, client):
        chinese = client.get("/no-such-page/")
        english = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
        assert chinese.status_code == english.status_code == 404
        assert "页面不存在" in chinese.content.decode() and "返回首页" in chinese.content.decode()
        assert "Page not found" in english.content.decode() and "Back to the home page" in english.content.decode()
        assert 'class="brand"' in chinese.content.decode()  # the site's layout

    def test_403_in_the_site_layout_logged_in_one_line(self, client, analyst, article_factory, caplog):
        article = article_factory()
        client.force_login(analyst)
        with caplog.at_level(logging.WARNING, logger="django.request"):
            response = client.post(reverse("admin:contentlib_article_approve", args=[article.id]))
        assert response.status_code == 403
        assert "没有权限" in response.content.decode() and 'href="/"' in response.content.decode()
        [record] = [r for r in caplog.records if r.name == "django.request"]
        assert record.getMessage() == f"Forbidden (Permission denied): {reverse('admin:contentlib_article_approve', args=[article.id])}"
        assert record.exc_info is None and "Traceback" not in caplog.text

    def test_500_in_the_site_layout(self, client, monkeypatch):
        from contentlib.site import views

        def broken(request):
            raise RuntimeError("boom")

        monkeypatch.setattr(views.selectors, "article_list_published", lambda **kw: broken(None))
        client.raise_request_exception = False
        response = client.get(reverse("site:article_list"), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 500
        page = response.content.decode()
        assert "Something went wrong" in page and 'href="/"' in page and "boom" not in page


@pytest.mark.django_db
def test_static_files_are_served_without_debug(client):
    """WhiteNoise serves the admin's CSS in every mode (DEBUG is off in tests, as in `make demo`)."""
    assert not settings.DEBUG
    response = client.get(static("admin/css/base.css"))
    assert response.status_code == 200
    assert b"--body-fg" in b"".join(response.streaming_content)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/portal/login/", "/admin/login/", "/login/"])
def test_a_username_of_100000_characters_is_a_failed_sign_in_not_a_500(client, url):
    """Found by tests/site/test_hostile_requests.py: Django's AuthenticationForm checks no length, so
    django-axes's INSERT of the attempt (username varchar(255)) raised DataError, a 500."""
    from axes.models import AccessAttempt  # noqa: PLC0415

    response = client.post(url, {"username": "u" * 100_000, "password": "whatever"},
                           headers={"accept-language": "zh-hans"})
    assert response.status_code == 200 and 'name="username"' in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert all(len(a.username) <= 255 for a in AccessAttempt.objects.all())
