"""The portal's security: no enterprise reaches another's data through any URL, id, form field or
query parameter; roles; anonymous users; suspended advertisers; CSRF; markup never rendered."""
import re

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from ads import services
from ads.models import Advertiser, CampaignKeyword, Promotion, VerifiedDomain
from contentlib.models import Article
from tests.contentlib.test_security import inline_code

pytestmark = pytest.mark.django_db

# Pages anyone may open (signing in, signing up, resetting a password, accepting an invitation).
PUBLIC = {"signup", "login", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
          "password_reset_complete", "invitation_accept"}
# Pages without an object id: they show the signed-in user's own advertiser only.
OWN = {"dashboard", "article_list", "article_new", "campaign_list", "campaign_new", "ledger", "users", "domains",
       "password_change", "password_change_done", "topup", "reports"}
# Pages that only read: a POST is 405 (nothing is read or changed).
READ_ONLY = {"dashboard", "article_list", "article_detail", "campaign_list", "campaign_detail", "ledger", "campaign_why",
             "topup_order", "campaign_planner", "campaign_planner_json", "reports"}
# Pages only the owner may open (online top-up, payments/portal.py): a member or reporter gets 403.
OWNER_ONLY = {"topup", "topup_order"}
# Views that take only POST (a GET is 405: nothing is read or changed).
POST_ONLY = {"campaign_submit", "campaign_pause", "campaign_resume", "campaign_archive", "keywords_add",
             "keyword_remove", "promotion_add", "promotion_archive", "domain_verify"}


def portal_patterns() -> list[URLPattern]:
    """Every pattern in the portal's namespace as the project mounts it (ads.portal.urls and the top-up
    pages of payments.portal)."""
    namespace = get_resolver().namespace_dict["portal"][1]
    return [p for p in namespace.url_patterns if isinstance(p, URLPattern)]


def with_ids(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.converters)


def url_for(pattern: URLPattern, ids: dict) -> str:
    return reverse(f"portal:{pattern.name}", kwargs={name: ids[name] for name in with_ids(pattern)})


def markers(company) -> list[str]:
    """Strings only the company's own pages show."""
    return [company.advertiser.name, company.campaign.name, company.approved.title, company.pending.title,
            f"{company.advertiser.name[2].lower()}冷链", company.owner.user.username, company.reporter.user.email,
            f"token-{company.advertiser.name[2]}"]


def b_state(company_b) -> tuple:
    return (
        tuple(Article.objects.filter(owner=company_b.advertiser).order_by("id").values_list("title", "status")),
        tuple(CampaignKeyword.objects.filter(campaign__advertiser=company_b.advertiser).values_list("text", "archived")),
        tuple(Promotion.objects.filter(campaign__advertiser=company_b.advertiser).values_list("id", "archived")),
        tuple(company_b.advertiser.campaigns.values_list("name", "status", "max_bid")),
        tuple(VerifiedDomain.objects.filter(advertiser=company_b.advertiser).values_list("domain", "verified_at")),
        Advertiser.objects.get(id=company_b.advertiser.id).balance,
    )


def test_every_portal_url_is_classified():
    """A new URL must be added to a list here, so that the walk below cannot forget it."""
    for pattern in portal_patterns():
        assert pattern.name, pattern
        assert with_ids(pattern) or pattern.name in PUBLIC | OWN, (
            f"portal:{pattern.name} takes no id: add it to PUBLIC or OWN in this test after checking it")


def test_every_url_with_another_advertisers_ids_is_404_or_403(client, company_a, company_b):
    """Walks every portal URL pattern with B's ids, signed in as A's owner: GET and POST."""
    before = b_state(company_b)
    client.force_login(company_a.owner.user)
    walked = 0
    for pattern in portal_patterns():
        if not with_ids(pattern) or pattern.name in PUBLIC:
            continue
        url = url_for(pattern, company_b.ids)
        got = client.get(url)
        assert got.status_code in ((405,) if pattern.name in POST_ONLY else (403, 404)), (url, got.status_code)
        posted = client.post(url, {"title": "hijack", "body": "hijack", "language": "zh", "name": "hijack",
                                   "lines": "hijack", "match_type": "exact", "article": company_b.approved.id,
                                   "pricing": "cpc", "max_bid": "9", "daily_budget": "90", "total_budget": "900",
                                   "start_date": "2099-01-01"})
        assert posted.status_code in ((405,) if pattern.name in READ_ONLY else (403, 404)), (url, posted.status_code)
        for marker in markers(company_b):
            assert marker not in got.content.decode() + posted.content.decode(), (url, marker)
        walked += 1
    assert walked >= 12
    assert b_state(company_b) == before


def test_pages_without_ids_show_only_the_users_own_advertiser(client, company_a, company_b):
    """Also with B's ids in query parameters, which no portal page may read."""
    client.force_login(company_a.owner.user)
    query = "?" + "&".join(f"{name}={value}" for name, value in company_b.ids.items()) + \
            f"&advertiser={company_b.advertiser.id}&advertiser_id={company_b.advertiser.id}"
    for name in sorted(OWN):
        for url in (reverse(f"portal:{name}"), reverse(f"portal:{name}") + query):
            page = client.get(url)
            assert page.status_code == 200, (url, page.status_code)
            content = page.content.decode()
            for marker in markers(company_b):
                assert marker not in content, (url, marker)
    assert company_a.campaign.name in client.get(reverse("portal:dashboard")).content.decode()


def test_a_form_field_cannot_name_another_advertisers_article(client, company_a, company_b):
    client.force_login(company_a.owner.user)
    response = client.post(reverse("portal:promotion_add", args=[company_a.campaign.id]),
                           {"article": company_b.approved.id})
    assert response.status_code == 302
    assert not Promotion.objects.filter(campaign=company_a.campaign, article=company_b.approved).exists()
    assert not Promotion.objects.filter(article=company_b.approved, campaign__advertiser=company_a.advertiser).exists()


class TestRoles:
    def test_a_reporter_reads_everything_and_changes_nothing(self, client, company_a, company_b):
        before_a = b_state(company_a)
        client.force_login(company_a.reporter.user)
        for pattern in portal_patterns():
            if pattern.name in PUBLIC or pattern.name.startswith("password"):
                continue
            url = url_for(pattern, company_a.ids)
            if pattern.name in OWNER_ONLY:
                assert client.get(url).status_code == 403, url
            elif pattern.name not in POST_ONLY:
                # The planner's JSON without seeds or an article is a bad request, said so in JSON.
                assert client.get(url).status_code == (400 if pattern.name == "campaign_planner_json" else 200), url
            posted = client.post(url, {"title": "x", "body": "x", "language": "zh", "name": "x", "lines": "x",
                                       "match_type": "exact", "article": company_a.approved.id, "email": "x@example.com",
                                       "role": "member", "domain": "x.example.com"})
            if pattern.name in READ_ONLY:
                assert posted.status_code == 405, (url, posted.status_code)
                continue
            assert posted.status_code == 403, (url, posted.status_code)
            assert "reporter" in posted.content.decode() or "只读" in posted.content.decode()
        assert b_state(company_a) == before_a

    def test_a_member_cannot_invite_but_the_owner_can(self, client, company_a, mailoutbox):
        client.force_login(company_a.member.user)
        refused = client.post(reverse("portal:users"), {"email": "new@example.com", "role": "member"})
        assert refused.status_code == 403 and mailoutbox == []
        client.force_login(company_a.owner.user)
        sent = client.post(reverse("portal:users"), {"email": "new@example.com", "role": "member"})
        assert sent.status_code == 200 and len(mailoutbox) == 1
        link = re.search(r"http://testserver(/portal/invitations/[^/\s]+/)", mailoutbox[0].body).group(1)
        client.logout()
        created = client.post(link, {"username": "newcomer", "password1": "a-long-enough-passphrase-42",
                                     "password2": "a-long-enough-passphrase-42"})
        assert created.status_code == 302
        assert company_a.advertiser.members.filter(user__username="newcomer", role="member").exists()

    def test_a_suspended_advertisers_users_sign_in_and_read_but_cannot_submit_edit_or_resume(
            self, client, company_a, staff):
        services.campaign_submit(membership=company_a.member, campaign_id=company_a.campaign.id)
        services.campaign_approve(campaign_id=company_a.campaign.id, actor=staff)
        services.campaign_pause(membership=company_a.member, campaign_id=company_a.campaign.id)
        services.advertiser_decide(advertiser_id=company_a.advertiser.id, actor=staff, status="suspended")
        signed_in = client.post(reverse("portal:login"), {"username": "a-owner", "password": "pw-for-tests-only"})
        assert signed_in.status_code == 302 and signed_in.headers["Location"] == reverse("portal:dashboard")
        for name in ("dashboard", "article_list", "campaign_list", "ledger"):
            assert client.get(reverse(f"portal:{name}")).status_code == 200
        assert client.get(reverse("portal:campaign_detail", args=[company_a.campaign.id])).status_code == 200
        for url, data in (
            (reverse("portal:article_new"), {"title": "新文章", "body": "正文", "language": "zh"}),
            (reverse("portal:article_edit", args=[company_a.approved.id]), {"title": "改", "body": "改", "language": "zh"}),
            (reverse("portal:campaign_resume", args=[company_a.campaign.id]), {}),
        ):
            response = client.post(url, data)
            assert response.status_code == 403, url
            assert "suspended" in response.content.decode() or "暂停" in response.content.decode()
        company_a.campaign.refresh_from_db()
        assert company_a.campaign.status == "paused"
        assert not Article.objects.filter(title="新文章").exists()

    def test_a_staff_member_without_an_advertiser_is_refused(self, client, staff):
        client.force_login(staff)
        assert client.get(reverse("portal:dashboard")).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, company_a):
    for pattern in portal_patterns():
        if pattern.name in PUBLIC:
            continue
        url = url_for(pattern, company_a.ids)
        response = client.post(url) if pattern.name in POST_ONLY else client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith(reverse("portal:login") + "?next="), url


def test_every_form_needs_its_csrf_token(company_a):
    """Django's CSRF check on every POST (enforced as in production), and the token in every form."""
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(company_a.owner.user)
    for pattern in portal_patterns():
        if pattern.name in ("password_reset_confirm", "invitation_accept"):
            continue  # signed tokens in their URLs; their forms are checked below
        url = url_for(pattern, company_a.ids)
        assert strict.post(url, {}).status_code == 403, url
        if pattern.name not in POST_ONLY:
            page = strict.get(url).content.decode()
            for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", page, re.S):
                assert 'name="csrfmiddlewaretoken"' in form, (url, form[:200])


def test_markup_in_a_company_name_keyword_or_article_is_escaped_in_portal_and_admin(client, company_a, staff):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">y</a>'
    Advertiser.objects.filter(id=company_a.advertiser.id).update(name="坏公司" + evil)
    services.keywords_add(membership=company_a.member, campaign_id=company_a.campaign.id, lines=evil,
                          match_type="exact")
    article = services.submission_save(membership=company_a.member, title="标题" + evil,
                                       body_markdown="正文 " + evil + "\n\n[点](javascript:alert(3))").article
    services.promotion_add(membership=company_a.member, campaign_id=services.campaign_create(
        membership=company_a.member, name="计划" + evil, pricing="cpc", max_bid="1", daily_budget="10",
        total_budget="100", start_date=company_a.campaign.start_date).id, article_id=company_a.approved.id,
        headline="标题" + evil[:60])
    client.force_login(company_a.owner.user)
    pages = [reverse("portal:dashboard"), reverse("portal:campaign_list"), reverse("portal:article_list"),
             reverse("portal:campaign_detail", args=[company_a.campaign.id]),
             reverse("portal:article_detail", args=[article.id])]
    client.force_login(staff)
    admin_pages = [reverse("admin:ads_advertiser_changelist"),
                   reverse("admin:ads_advertiser_change", args=[company_a.advertiser.id]),
                   reverse("admin:ads_campaign_changelist"),
                   reverse("admin:ads_campaign_change", args=[company_a.campaign.id]),
                   reverse("admin:contentlib_article_changelist"),
                   reverse("admin:contentlib_article_change", args=[article.id]),
                   reverse("admin:ads_advertiseruser_changelist")]
    seen = {}
    for url in admin_pages:
        seen[url] = client.get(url)
    client.force_login(company_a.owner.user)
    for url in pages:
        seen[url] = client.get(url)
    for url, response in seen.items():
        html = response.content.decode()
        assert response.status_code == 200, url
        assert inline_code(html) == [], (url, inline_code(html))
        assert "<img src=x" not in html and "&lt;script&gt;" in html, url
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, url


def test_the_invitation_and_password_reset_forms_need_their_csrf_token(company_a):
    token = services.invitation_make(membership=company_a.owner, email="new@example.com", role="member")
    strict = Client(enforce_csrf_checks=True)
    url = reverse("portal:invitation_accept", args=[token])
    assert 'name="csrfmiddlewaretoken"' in strict.get(url).content.decode()
    assert strict.post(url, {"username": "x", "password1": "a-long-enough-passphrase-42",
                             "password2": "a-long-enough-passphrase-42"}).status_code == 403
    assert not company_a.advertiser.members.filter(user__username="x").exists()
