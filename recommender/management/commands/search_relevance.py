"""`manage.py search_relevance`: nDCG@5, recall@10 and nothing-fits rates on the test half, or on any
judged set in the corpus's format (`--judgments FILE`, docs/RELEVANCE.md)."""
import re
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contentlib import corpus
from recommender.search import relevance

ANSWERED = "hybrid, question + answer"


def _judged_set(path: str) -> list[corpus.JudgedQuery]:
    """The queries of a judged-set file, checked against the fixture corpus, with errors that say what to fix."""
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"--judgments {path}: no such file. Give the path of a YAML file in the format of "
                           "fixtures/corpus/queries/ (docs/RELEVANCE.md).")
    try:
        queries = corpus.judged_queries(file)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise CommandError(f"--judgments {path} is not a judged set ({type(error).__name__}: {error}). Each entry "
                           "needs id, lang, query, type and relevant (see docs/RELEVANCE.md).") from error
    known = {a.id for a in corpus.articles()} | {a.id for a in corpus.near_duplicates()}
    seen: set[str] = set()
    for query in queries:
        if query.id in seen:
            raise CommandError(f"--judgments {path}: the id {query.id!r} appears twice; give each query its own id.")
        seen.add(query.id)
        unknown = sorted(set(query.relevant) - known)
        if unknown:
            raise CommandError(f"--judgments {path}: query {query.id!r} judges {', '.join(unknown)}, which the fixture "
                               "corpus does not hold; judge articles of fixtures/corpus/articles/ by their id.")
    if not queries:
        raise CommandError(f"--judgments {path} holds no query.")
    return queries


class Command(BaseCommand):
    help = ("Prints nDCG@5, recall@10 and nothing-fits rates of lexical, vector and hybrid retrieval (and of "
            "question + answer, for queries with a written answer) on the judged test queries, or on --judgments FILE.")

    def add_arguments(self, parser):
        parser.add_argument("--half", choices=("test", "dev", "all"), default="test",
                            help="Which committed half of the judged queries to score (default: test).")
        parser.add_argument("--judgments", metavar="FILE", default="",
                            help="Score every query of this file instead (a judged set in the format of "
                                 "fixtures/corpus/queries/, e.g. a held-out set; see docs/RELEVANCE.md).")
        parser.add_argument("--ids", default="",
                            help="Only the queries whose id matches this regular expression, e.g. 'real' for "
                                 "the real readers' queries.")

    def handle(self, *args, half, judgments, ids, **options):
        console = Console()
        try:
            pattern = re.compile(ids)
        except re.error as error:
            raise CommandError(f"--ids {ids!r} is not a regular expression ({error}); try e.g. --ids real") from error
        source = judgments or f"the {half} half"
        queries = _judged_set(judgments) if judgments else relevance.queries_of(half)
        queries = [q for q in queries if pattern.search(q.id)]
        if not queries:
            raise CommandError(f"No judged query of {source} has an id matching {ids!r}.")
        console.print("Indexing the fixture corpus (embedding it on first run)…")
        index = relevance.fixture_index()
        index.add_queries(queries)
        console.print(f"Vectors: {index.model_name}, " + (
            f"centered per language (means {index.means.key}, recommender/search/vector_centering.json)"
            if index.means is not None else "raw (no centering means for this model)"))
        runs = [("lexical", "lexical", False), ("vector", "vector", False), ("hybrid", "hybrid", False)]
        if any(q.answer for q in queries):
            runs.append((ANSWERED, "hybrid", True))
        reports = {}
        with Progress(TextColumn("Scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("", total=len(queries) * len(runs))
            for label, mode, with_answers in runs:
                reports[label] = relevance.evaluate(
                    index, queries, mode=mode, with_answers=with_answers,
                    progress=lambda qid: bar.update(task, advance=1, description=qid))
        answerable = [q for q in queries if q.relevant]
        table = Table(title=f"Relevance on {source}{f' (ids ~ {ids})' if ids else ''}: {len(answerable)} answerable, "
                            f"{len(queries) - len(answerable)} unanswerable or near-miss queries, "
                            f"{sum(bool(q.answer) for q in queries)} with a written answer")
        for column in ("method", "nDCG@5", "nDCG@5 zh", "nDCG@5 en", "recall@10", "unanswerable flagged",
                       "answerable hidden"):
            table.add_column(column, justify="right" if column != "method" else "left")
        for label, report in reports.items():
            table.add_row(label, f"{report.ndcg():.3f}", f"{report.ndcg('zh'):.3f}", f"{report.ndcg('en'):.3f}",
                          f"{report.recall():.3f}", f"{report.flagged_unanswerable():.0%}",
                          f"{report.hidden_answerable():.0%}")
        console.print(table)
        best_single = max(reports["lexical"].ndcg(), reports["vector"].ndcg())
        hybrid = reports["hybrid"]
        goals = Table(title="Goals")
        goals.add_column("goal")
        goals.add_column("value", justify="right")
        goals.add_column("met")
        rows = [
            ("hybrid nDCG@5 (≥ 0.85)", hybrid.ndcg(), hybrid.ndcg() >= 0.85),
            ("hybrid nDCG@5 − best single (≥ +0.03)", hybrid.ndcg() - best_single, hybrid.ndcg() - best_single >= 0.03),
            ("hybrid − lexical nDCG@5 on zh (≥ 0)", hybrid.ndcg("zh") - reports["lexical"].ndcg("zh"),
             hybrid.ndcg("zh") >= reports["lexical"].ndcg("zh")),
            ("unanswerable and near misses flagged (≥ 80%)", hybrid.flagged_unanswerable(), hybrid.flagged_unanswerable() >= 0.8),
            ("answerable hidden (≤ 10%)", hybrid.hidden_answerable(), hybrid.hidden_answerable() <= 0.1),
        ]
        if ANSWERED in reports:
            answered = reports[ANSWERED]
            rows += [
                ("question + answer nDCG@5 (≥ 0.85)", answered.ndcg(), answered.ndcg() >= 0.85),
                ("question + answer − question alone nDCG@5 (≥ 0)", answered.ndcg() - hybrid.ndcg(),
                 answered.ndcg() >= hybrid.ndcg()),
            ]
        for label, value, met in rows:
            shown = f"{value:+.3f}" if "−" in label else (f"{value:.3f}" if "nDCG" in label else f"{value:.0%}")
            goals.add_row(label, shown, "yes" if met else "NO")
        console.print(goals)
