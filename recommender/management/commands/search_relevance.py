"""`manage.py search_relevance`: nDCG@5, recall@10 and nothing-fits rates on the test half."""
import re

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recommender.retrieval import MODES
from recommender.search import relevance


class Command(BaseCommand):
    help = "Prints nDCG@5 and recall@10 of lexical, vector and hybrid retrieval on the judged test queries."

    def add_arguments(self, parser):
        parser.add_argument("--half", choices=("test", "dev", "all"), default="test",
                            help="Which committed half of the judged queries to score (default: test).")
        parser.add_argument("--ids", default="",
                            help="Only the queries whose id matches this regular expression, e.g. 'extra' for "
                                 "the queries judged last.")

    def handle(self, *args, half, ids, **options):
        console = Console()
        try:
            pattern = re.compile(ids)
        except re.error as error:
            raise CommandError(f"--ids {ids!r} is not a regular expression ({error}); try e.g. --ids extra") from error
        queries = [q for q in relevance.queries_of(half) if pattern.search(q.id)]
        if not queries:
            raise CommandError(f"No judged query of the {half} half has an id matching {ids!r}.")
        console.print("Indexing the fixture corpus (embedding it on first run)…")
        index = relevance.fixture_index()
        reports = {}
        with Progress(TextColumn("Scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("", total=len(queries) * len(MODES))
            for mode in ("lexical", "vector", "hybrid"):
                reports[mode] = relevance.evaluate(index, queries, mode=mode,
                                                   progress=lambda qid: bar.update(task, advance=1, description=qid))
        answerable = [q for q in queries if q.relevant]
        table = Table(title=f"Relevance on the {half} half{f' (ids ~ {ids})' if ids else ''}: {len(answerable)} answerable, "
                            f"{len(queries) - len(answerable)} unanswerable queries")
        for column in ("method", "nDCG@5", "nDCG@5 zh", "nDCG@5 en", "recall@10", "unanswerable flagged",
                       "answerable hidden"):
            table.add_column(column, justify="right" if column != "method" else "left")
        for mode, report in reports.items():
            table.add_row(mode, f"{report.ndcg():.3f}", f"{report.ndcg('zh'):.3f}", f"{report.ndcg('en'):.3f}",
                          f"{report.recall():.3f}", f"{report.flagged_unanswerable():.0%}",
                          f"{report.hidden_answerable():.0%}")
        console.print(table)
        best_single = max(reports["lexical"].ndcg(), reports["vector"].ndcg())
        hybrid = reports["hybrid"]
        goals = Table(title="Goals")
        goals.add_column("goal")
        goals.add_column("value", justify="right")
        goals.add_column("met")
        for label, value, met in (
            ("hybrid nDCG@5 − best single (≥ +0.03)", hybrid.ndcg() - best_single, hybrid.ndcg() - best_single >= 0.03),
            ("hybrid − lexical nDCG@5 on zh (≥ 0)", hybrid.ndcg("zh") - reports["lexical"].ndcg("zh"),
             hybrid.ndcg("zh") >= reports["lexical"].ndcg("zh")),
            ("unanswerable flagged (≥ 80%)", hybrid.flagged_unanswerable(), hybrid.flagged_unanswerable() >= 0.8),
            ("answerable hidden (≤ 10%)", hybrid.hidden_answerable(), hybrid.hidden_answerable() <= 0.1),
        ):
            goals.add_row(label, f"{value:+.3f}" if "nDCG" in label else f"{value:.0%}", "yes" if met else "NO")
        console.print(goals)
