"""`manage.py demo`: migrate, serve the demo website and crawl it, create local demo accounts, serve.

DEMO_SERVE=0 does everything but serve Django (the demo website is served only while it is crawled).
"""
import os
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from ads import demo as ads_demo  # project level: the demo may use every package
from contentlib import demo
from contentlib.models import Article
from contentlib.site import demo as site_demo
from crawlers import runner
from crawlers.models import CrawlPage, CrawlRun


class Command(BaseCommand):
    help = "Builds the demo library by crawling the local demo website, then serves it on http://127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("DEMO_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--no-serve", action="store_true", help="Same as DEMO_SERVE=0.")

    def handle(self, *args, addr, no_serve, **options):
        console = Console(file=self.stdout)
        console.rule("[bold]Content library demo")
        console.print("1/5 Migrating the database and collecting static files (the admin's CSS and JavaScript)")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # WhiteNoise serves them, as in production
        demo.categories_ensure()

        port = int(os.environ.get("DEMO_SITE_PORT", site_demo.DEMO_SITE_PORT))
        try:
            site = site_demo.demo_site_serve(port=port)
        except (OSError, FileNotFoundError) as error:
            raise CommandError(str(error)) from None
        base_url = f"http://{site_demo.DEMO_SITE_HOST}:{port}"
        console.print(f"2/5 Crawling the demo website served from fixtures/demo_site/public on {base_url}/")
        source = site_demo.demo_source_ensure(base_url=base_url)
        try:
            finished = runner.crawl_subprocess(source.slug, **site_demo.DEMO_CRAWL_ENV)
        finally:
            site.shutdown()
            site.server_close()
        run = CrawlRun.objects.filter(source=source).order_by("-id").first()
        if finished.returncode != 0 or run is None:
            raise CommandError(f"The crawl of the demo website failed (exit {finished.returncode}); its output is above.")

        console.print("3/5 Moderation: three in four crawled articles approved, the rest left for editors")
        approved = site_demo.demo_moderate(source=source)
        curated = site_demo.demo_curate(source=source)
        console.print(f"  advertisers linked to their promotional articles: {curated['owners']}; "
                      f"editor category labels: {curated['labels']}")
        vip = site_demo.demo_vip(source=source)
        console.print(f"  VIP plans: {vip['plans']}; premium articles (behind the VIP wall): {vip['premium']}")
        table = Table(title="Library")
        table.add_column("status")
        table.add_column("articles", justify="right")
        for status, label in Article.Status.choices:
            table.add_row(str(label), str(Article.objects.filter(status=status).count()))
        console.print(table)
        labels = dict(CrawlPage.Outcome.choices)
        console.print(f"This crawl: {', '.join(f'{labels[k]} {v}' for k, v in sorted(run.counts.items()))}; "
                      f"approved now: {approved}")
        console.print(f"This run: {dict(sorted(run.counts.items()))}")

        console.print("4/5 Enrichment with the library's own statistics, then the search index")
        call_command("enrich", "--all", "--refit", stdout=self.stdout)
        call_command("reindex", stdout=self.stdout)
        asked = site_demo.demo_questions()
        console.print(f"  readers' questions answered: {asked['asked']}, published {asked['published']} "
                      f"(the rest have no answer in the library, and stay off the site)")

        console.print("5/5 Demo accounts")
        password, usernames = demo.demo_users_ensure()
        console.print(f"  users {', '.join(usernames)}  password [bold]{password}[/bold]")
        logins = ads_demo.demo_advertisers_ensure(password=password, staff=get_user_model().objects.get(username="demo-admin"))
        console.print(f"  enterprise portal http://{addr}/portal/, same password:")
        for username, role, company in logins:
            console.print(f"    user {username} ({role}, {company})", soft_wrap=True)  # one line each, however narrow
        console.print("  [yellow]These accounts are for local use only. The password changes on every run.[/yellow]")
        # Generated reader sessions (fixtures/traffic/params.yaml) over the published articles (the
        # companies' included, approved just above) feed the related searches and the keyword planner;
        # a second run replaces them.
        call_command("generate_traffic", "--section", "readers", stdout=self.stdout)
        call_command("cooccurrence_rebuild", stdout=self.stdout)
        # Three weeks of sponsored views for the demo campaigns, through the real billing code, so that
        # the reports (/reports/, the portal's Reports page) have shape; written once (the ledger is append-only).
        call_command("generate_traffic", "--section", "ads", stdout=self.stdout, stderr=StringIO())
        console.print("  Sponsored cards (广告 / Sponsored, the advertiser named; a click is charged to its campaign: admin, "
                      "Clicks and Ledger entries):")
        for company, path in ads_demo.demo_sponsored_pages():
            console.print(f"    http://{addr}{path}  ({company})", soft_wrap=True)

        serve = os.environ.get("DEMO_SERVE", "1") not in ("0", "false", "no") and not no_serve
        if not serve:
            console.print("DEMO_SERVE=0: not starting the server.")
            return
        console.print(f"Serving http://{addr}/ (questions and articles; ask at /ask/), http://{addr}/admin/ "
                      f"(editors and crawl runs) and "
                      f"http://{addr}/portal/ (enterprises). Ctrl+C stops.")
        # Django's development server, static files through WhiteNoise (production runs gunicorn: docker-compose.yml).
        call_command("runserver", addr, use_reloader=False)
