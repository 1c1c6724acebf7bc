"""`manage.py enrich --missing|--all|--since DATE|--model-changed [--queue] [--refit]`."""
import datetime as dt
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from recommender import services
from recommender.tasks import BATCH_SIZE, enrich_backfill


class Command(BaseCommand):
    help = "Enriches articles (tokens, keywords, summary, embedding, category) with a progress bar."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--missing", action="store_true", help="articles not enriched yet (or failed)")
        which.add_argument("--all", action="store_true", help="every article")
        which.add_argument("--since", metavar="DATE", help="articles changed since DATE (YYYY-MM-DD)")
        which.add_argument("--model-changed", action="store_true",
                           help="articles embedded by another model than EMBEDDING_MODEL")
        parser.add_argument("--refit", action="store_true",
                            help="refit keyword statistics and the category classifier first")
        parser.add_argument("--queue", action="store_true",
                            help="queue batches on the nlp queue for the workers instead of running here")

    def handle(self, *args, missing, all, since, model_changed, refit, queue, **options):
        console = Console()
        mode = "missing" if missing else "all" if all else "model" if model_changed else "since"
        since_at = None
        if since:
            try:
                since_at = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), tzinfo=dt.UTC)
            except ValueError:
                raise CommandError(f"--since {since!r} is not a date. Give it as YYYY-MM-DD, e.g. --since 2026-01-31.") from None
        if refit:
            with console.status("Refitting keyword statistics and the category classifier"):
                report = services.statistics_refit()
            console.print(f"Refit: {report}")
            if report["embedding_model_changed"] and mode != "model":
                console.print(f"The embedding model is now {report['embedding_model']}: run "
                              "`manage.py enrich --model-changed` to re-embed the articles.")
        if queue:
            count = enrich_backfill.delay(mode, since_at.isoformat() if since_at else None)
            console.print(f"Queued the {mode} backfill on the nlp queue ({count if isinstance(count, int) else 'see workers'}).")
            return

        ids = list(services.enrichment_selection(mode=mode, since=since_at).order_by("id").values_list("id", flat=True))
        outcomes: Counter = Counter()
        with Progress(TextColumn("Enriching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=console) as bar:
            task = bar.add_task("", total=len(ids))
            for start in range(0, len(ids), BATCH_SIZE):
                batch = ids[start:start + BATCH_SIZE]
                results = services.articles_enrich(article_ids=batch)
                outcomes.update(results.values())
                outcomes["missing"] += len(batch) - len(results)
                bar.update(task, advance=len(batch))

        table = Table(title=f"Enrichment ({mode})")
        table.add_column("outcome")
        table.add_column("articles", justify="right")
        for outcome in ("done", "failed", "superseded", "missing"):
            table.add_row(outcome, str(outcomes[outcome]))
        table.add_row("total", str(len(ids)))
        console.print(table)
        if outcomes["failed"]:
            console.print("Failed articles keep their error in admin (Articles → Enrichment status: Failed).")
