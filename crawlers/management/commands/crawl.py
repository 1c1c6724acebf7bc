"""`manage.py crawl <source-slug>`: one crawl of one source, with progress and an outcome table."""
import sys

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from contentlib.errors import ApplicationError
from contentlib.models import Source
from crawlers import runner, selectors
from crawlers.models import CrawlPage
from crawlers.tasks import EXIT_LOCKED


class Command(BaseCommand):
    help = "Crawls one source (by slug) into the library and prints what happened to each page."

    def add_arguments(self, parser):
        parser.add_argument("source", help="The source's slug, as shown in admin.")
        parser.add_argument("--pages", action="store_true", help="Also list every URL with its outcome.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs and schedulers).")

    def handle(self, *args, source, pages, no_progress, **options):
        console = Console(file=self.stdout, force_terminal=None)
        found = selectors.source_get_crawlable(slug=source)
        if found is None:
            slugs = ", ".join(Source.objects.filter(kind__in=selectors.CRAWLABLE_KINDS).values_list("slug", flat=True))
            raise CommandError(
                f"No crawlable source with slug {source!r}. Known crawlable sources: {slugs or 'none'}. "
                "Add one in admin (kind sitemap, feed or site) or check the spelling."
            )
        labels = dict(CrawlPage.Outcome.choices)
        with Progress(SpinnerColumn(), TextColumn(f"Crawling {found.slug}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                      disable=no_progress) as bar:
            task = bar.add_task("", total=found.page_limit)

            def on_page(url: str, outcome: str) -> None:
                bar.update(task, advance=1, description=f"{labels.get(outcome, outcome)}: {url[-60:]}")

            try:
                run = runner.crawl_source(source=found, on_page=on_page)
            except ApplicationError as error:
                console.print(f"[red]{error.message}[/red]")
                sys.exit(EXIT_LOCKED if error.extra.get("code") == "locked" else 1)

        if pages:
            listing = Table(title=f"Pages of crawl #{run.id}")
            for column in ("url", "outcome", "reason"):
                listing.add_column(column, overflow="fold")
            for page in run.pages.all():
                listing.add_row(page.url, page.get_outcome_display(), page.reason)
            console.print(listing)
        summary = Table(title=f"Crawl #{run.id} of {found.slug}: {run.finish_reason}")
        summary.add_column("outcome")
        summary.add_column("pages", justify="right")
        for outcome, label in CrawlPage.Outcome.choices:
            if run.counts.get(outcome):
                summary.add_row(str(label), str(run.counts[outcome]))  # a lazy label is no renderable
        summary.add_row("[bold]total", f"[bold]{run.pages_total}")
        console.print(summary)
        took = (run.finished_at - run.started_at).total_seconds()
        console.print(f"{run.pages_total} pages in {took:.1f} s. Details: admin → Crawlers → Crawl runs → #{run.id}.")
