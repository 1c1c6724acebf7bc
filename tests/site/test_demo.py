"""`manage.py demo` on embedded defaults, without the Django server: it crawls the demo website."""
import re
import socket
import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from ads.demo import COMPANIES, demo_sponsored_pages
from ads.models import Campaign, Click
from contentlib import corpus
from contentlib.models import Article
from contentlib.site.demo import DEMO_SITE_DIR
from crawlers.models import CrawlPage, CrawlRun
from recommender.retrieval import retrieve


@pytest.mark.timeout(900)  # two demo runs: crawl, e5 enrichment of 60 articles and indexing, twice
@pytest.mark.django_db(transaction=True)
def test_demo_crawls_the_demo_website_and_can_run_again(monkeypatch, capsys, settings, tmp_path):
    monkeypatch.setenv("DEMO_SERVE", "0")
    settings.STATIC_ROOT = tmp_path / "static"  # the demo collects static files: not into the checkout
    with socket.socket() as probe:  # a free port of its own: away from a running demo and from other test runs
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DEMO_SITE_PORT", str(port))
    call_command("demo")
    out = capsys.readouterr().out
    article_pages = len(list((DEMO_SITE_DIR / "articles").glob("[a-z][a-z]-*.html")))
    run = CrawlRun.objects.get()
    assert run.counts[CrawlPage.Outcome.SAVED] == article_pages
    crawled = Article.objects.exclude(origin=Article.Origin.SUBMITTED)  # the demo companies also submit one each
    assert crawled.count() == article_pages and Article.objects.filter(origin="submitted").count() == len(COMPANIES)
    assert not CrawlPage.objects.filter(url__contains="/private/").exclude(outcome=CrawlPage.Outcome.ROBOTS_FORBIDDEN).exists()
    assert not Article.objects.filter(text__contains="ZX-7781").exists()
    pending = Article.objects.filter(status="pending").count()
    assert 0 < pending <= article_pages // 4 + 1
    assert crawled.filter(status="approved").count() == article_pages - pending
    # Enriched with the library's statistics, advertisers linked, and searchable.
    assert not Article.objects.exclude(enrichment_status="done").exists()
    promotional = [a for a in corpus.articles() if a.advertiser]
    assert crawled.filter(owner__isnull=False).count() == len(promotional)
    assert Article.objects.filter(category_locked=True).exists() and Article.objects.filter(category_locked=False).exists()
    # VIP: the plans, and some approved articles behind the premium wall.
    from payments.models import Plan  # noqa: PLC0415

    assert set(Plan.objects.values_list("slug", flat=True)) == {"monthly", "yearly"}
    premium = Article.objects.filter(premium=True)
    assert premium.exists() and not premium.exclude(status="approved").exists()
    hits = retrieve("冷链物流 温控").hits
    assert hits and Article.objects.filter(id__in=[h.id for h in hits], status="approved").count() == len(hits)
    password = out.split("password")[1].split()[0]
    # With the sign-in throttle installed, authenticate() takes the request, as the login views pass it.
    assert authenticate(RequestFactory().post("/admin/login/"), username="demo-editor", password=password) is not None
    assert "for local use only" in out
    # The enterprise portal's demo users, beside the staff accounts, with the same password.
    assert "user demo-ruileng (owner, 上海瑞冷医药物流有限公司)" in out and "user demo-ruibi (owner" in out
    assert authenticate(RequestFactory().post("/portal/login/"), username="demo-ruibi", password=password) is not None
    assert Campaign.objects.filter(status="active").count() == 2
    assert (tmp_path / "static" / "staticfiles.json").exists()  # collected, for WhiteNoise to serve
    # Readers' questions from the corpus, answered with references; most are public pages.
    from contentlib.models import Question  # noqa: PLC0415
    from contentlib.site.demo import DEMO_QUESTIONS  # noqa: PLC0415

    questions = Question.objects.filter(status="published")
    assert Question.objects.count() == len(DEMO_QUESTIONS) and questions.count() >= len(DEMO_QUESTIONS) * 2 // 3
    assert all(q.answers.get(status="current").cited_article_ids for q in questions)
    assert f"readers' questions answered: {len(DEMO_QUESTIONS)}" in out
    published_count = questions.count()
    sponsored_cards_and_a_charged_click(out)

    # Generated reader traffic over the demo's articles, and the co-occurrence model built from it.
    from recommender.models import CooccurrenceModel, ReaderActivity  # noqa: PLC0415

    logged = ReaderActivity.objects.count()
    assert logged > 10000 and not ReaderActivity.objects.exclude(article_id=None).exclude(
        article_id__in=Article.objects.values("id")).exists()
    assert CooccurrenceModel.objects.filter(active=True).get().pairs["qq"] > 0

    call_command("demo")
    out = capsys.readouterr().out
    assert ReaderActivity.objects.count() == logged, "the second run replaces the generated traffic"
    assert Article.objects.count() == article_pages + len(COMPANIES)
    assert Article.objects.filter(status="pending").count() == pending
    assert Plan.objects.count() == 2 and Article.objects.filter(premium=True).count() == premium.count()
    assert CrawlRun.objects.order_by("-id").first().counts[CrawlPage.Outcome.UNCHANGED] == article_pages
    assert Question.objects.count() == len(DEMO_QUESTIONS) and questions.count() == published_count
    assert "'saved'" not in out.split("This run:")[1].splitlines()[0]


CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


def sponsored_cards_and_a_charged_click(out: str) -> None:
    """The demo's search, article and question pages show labelled cards naming the demo companies; a click on
    one is charged, and staff find the charge in admin."""
    from django.conf import settings  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415

    pages = demo_sponsored_pages()
    assert {company for company, _ in pages} == {c.name for c in COMPANIES}
    assert {path.split("?")[0] for _, path in pages} >= {"/search/"} and any("/articles/" in p for _, p in pages)
    # A question page beside its answer (the cold-chain company: no organic article answers a welding question).
    assert any(path.startswith("/q/") for _, path in pages)
    for company, path in pages:
        assert path in out  # printed for the person running the demo
        html = Client().get(path, HTTP_USER_AGENT=CHROME).content.decode()
        block = re.search(r'<aside class="sponsored".*?</aside>', html, re.S)
        assert block, path
        assert '<span class="sponsored-label">广告</span>' in block.group(0) and company in block.group(0), path
    href = re.search(r'<a href="(/c/[^"]+)" rel="sponsored', block.group(0)).group(1)
    time.sleep(settings.AD_CLICK_MIN_SECONDS + 0.1)  # a person's click, not one too fast to be theirs
    earlier = set(Click.objects.values_list("id", flat=True))  # the demo's generated traffic
    assert Client().get(href, HTTP_USER_AGENT=CHROME).status_code == 302
    click = Click.objects.exclude(id__in=earlier).get()
    assert click.billed and click.ledger_entry is not None and click.ledger_entry.amount == -click.amount
    staff = Client()
    staff.force_login(get_user_model().objects.get(username="demo-admin"))
    entry = f"/admin/ads/ledgerentry/{click.ledger_entry.id}/change/"
    assert entry in staff.get("/admin/ads/ledgerentry/?kind=charge").content.decode()
    clicks = staff.get("/admin/ads/click/").content.decode()  # the click, with a link to its charge
    assert f"/admin/ads/click/{click.pk}/change/" in clicks and entry in clicks
