"""`manage.py demo`: migrate, load the demo library, create local demo accounts, serve.

DEMO_SERVE=0 does everything but serve.
"""
import os

from django.core.management import call_command
from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contentlib import corpus, demo
from contentlib.models import Article


class Command(BaseCommand):
    help = "Builds the demo library on embedded defaults and serves it on http://127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("DEMO_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--no-serve", action="store_true", help="Same as DEMO_SERVE=0.")

    def handle(self, *args, addr, no_serve, **options):
        console = Console()
        console.rule("[bold]Content library demo")
        console.print("1/3 Migrating the database")
        call_command("migrate", interactive=False, verbosity=0)

        total = len(corpus.articles())
        with Progress(TextColumn("2/3 Loading articles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("", total=total)
            counts = demo.corpus_load(progress=lambda item_id: bar.update(task, advance=1, description=item_id))

        table = Table(title="Library")
        table.add_column("status")
        table.add_column("articles", justify="right")
        for status, label in Article.Status.choices:
            table.add_row(label, str(Article.objects.filter(status=status).count()))
        console.print(table)
        console.print(f"This run: {dict(counts)}")

        console.print("3/3 Demo accounts")
        password, usernames = demo.demo_users_ensure()
        console.print(f"  users {', '.join(usernames)}  password [bold]{password}[/bold]")
        console.print("  [yellow]These accounts are for local use only. The password changes on every run.[/yellow]")

        serve = os.environ.get("DEMO_SERVE", "1") not in ("0", "false", "no") and not no_serve
        if not serve:
            console.print("DEMO_SERVE=0: not starting the server.")
            return
        console.print(f"Serving http://{addr}/ (articles) and http://{addr}/admin/ (editors). Ctrl+C stops.")
        call_command("runserver", addr, use_reloader=False)
