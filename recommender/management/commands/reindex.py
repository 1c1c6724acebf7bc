"""`manage.py reindex`: rebuilds the search index from the database with no downtime."""
from django.conf import settings
from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recommender.search import sync


class Command(BaseCommand):
    help = ("Rebuilds the search index from every enriched article. Elasticsearch: a new index version, "
            "then an atomic alias swap. Embedded: a new version, made live in one step (old versions and "
            "files left by killed writers are deleted). --sweep only fixes what is stale.")

    def add_arguments(self, parser):
        parser.add_argument("--sweep", action="store_true", help="Only index dirty, changed, new or deleted articles.")
        parser.add_argument("--batch-size", type=int, default=sync.BATCH_SIZE)

    def handle(self, *args, sweep, batch_size, **options):
        console = Console()
        console.print(f"Search backend: [bold]{settings.SEARCH_BACKEND}[/bold]")
        with Progress(TextColumn("Indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("", total=None)
            advance = lambda n: bar.update(task, advance=n)  # noqa: E731
            if sweep:
                counts = sync.index_sweep(batch_size=batch_size, progress=advance)
            else:
                result = sync.index_rebuild(batch_size=batch_size, progress=advance,
                                            total=lambda n: bar.update(task, total=n))
                counts = {"indexed": result.indexed, "deleted": result.deleted, "errors": len(result.errors)}
        table = Table(title="Reindex" if not sweep else "Sweep")
        table.add_column("outcome")
        table.add_column("articles", justify="right")
        for outcome, count in counts.items():
            table.add_row(outcome, str(count))
        console.print(table)
        if not sweep and result.errors:
            console.print("[red]Some documents were refused:[/red]")
            for error in result.errors[:10]:
                console.print(f"  {error}")
            console.print("Fix the articles named above (or the mapping) and run `manage.py reindex --sweep`.")
