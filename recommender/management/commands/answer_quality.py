"""`manage.py answer_quality`: faithfulness, answered, citation precision, honest "no answer" and
retrieval from question + answer, on the judged queries' test half (or any judged set)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contentlib import corpus
from recommender.answers import quality
from recommender.search import relevance


class Command(BaseCommand):
    help = ("Prints how faithful, complete and honest the answers are on judged queries (the test half by "
            "default), and whether question + answer retrieves as well as the question alone.")

    def add_arguments(self, parser):
        parser.add_argument("--half", choices=("test", "dev", "all"), default="test",
                            help="Which committed half of the judged queries to score (default: test).")
        parser.add_argument("--judgments", type=Path,
                            help="A YAML file of judged queries in the corpus's format (fixtures/corpus/queries/"
                                 "README.md), scored whole instead of a half. Their article ids are the corpus's.")
        parser.add_argument("--provider", default="extractive",
                            help="extractive (default), openai or transformers (the configured LLM_* settings).")
        parser.add_argument("--encode-answers", action="store_true",
                            help="Also score question + answer with the answer's text encoded by the embedding "
                                 "model, against the vector derived from the cited passages (slow).")
        parser.add_argument("--tune", action="store_true",
                            help="Choose the extractive parameters on the dev half (only) and print them.")

    def handle(self, *args, half, judgments, provider, encode_answers, tune, **options):
        console = Console()
        if judgments is not None:
            if not judgments.is_file():
                raise CommandError(f"--judgments {judgments}: no such file. Give a YAML file of judged queries.")
            try:
                queries = corpus.judged_queries(judgments)
            except (KeyError, TypeError, ValueError) as error:
                raise CommandError(f"--judgments {judgments} is not in the judged-query format ({error}); see "
                                   "fixtures/corpus/queries/README.md.") from error
            label = str(judgments)
        else:
            queries = relevance.queries_of("dev" if tune else half)
            label = f"the {'dev' if tune else half} half"
        if not queries:
            raise CommandError(f"No judged query in {label}.")
        known = {a.id for a in corpus.articles()}
        unknown = sorted({a for q in queries for a in q.relevant} - known)
        if unknown:
            raise CommandError(f"{label} judges articles the corpus does not have: {', '.join(unknown[:10])}.")
        console.print("Indexing the fixture corpus (embedding it on first run)…")
        library = quality.fixture_library()
        chosen, min_fit = None, None
        with Progress(TextColumn("Answering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            if tune:
                task = bar.add_task("", total=len(quality.GRID))
                chosen, min_fit, _ = quality.tune(library, queries, progress=lambda p: bar.update(task, advance=1))
            encode = None
            if encode_answers:
                from recommender.embeddings import encode_query  # noqa: PLC0415

                encode = lambda text: encode_query(text, model=library.index.model_name)  # noqa: E731
            chosen_provider = None
            if provider != "extractive":
                from recommender.answers import provider_get  # noqa: PLC0415

                chosen_provider = provider_get(provider)
            task = bar.add_task("", total=len(queries))
            report = quality.evaluate(library, queries, provider=chosen_provider, params=chosen, min_fit=min_fit,
                                      encode=encode,
                                      progress=lambda qid: bar.update(task, advance=1, description=qid))
        answerable = sum(1 for q in queries if q.relevant)
        if chosen is not None:
            console.print(f"Chosen on the dev half: {chosen}, answer minimum fit probability {min_fit}")
        table = Table(title=f"Answers ({provider}) on {label}: {answerable} answerable, "
                            f"{len(queries) - answerable} unanswerable questions")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_column("goal", justify="right")
        table.add_column("met")
        extractive_only = chosen_provider is None
        faithful = report.faithfulness(verbatim=extractive_only)
        rows = [
            ("faithfulness (cited passages " + ("in" if extractive_only else "supported by") + " their article)",
             f"{faithful:.1%}", "100%" if extractive_only else "—", faithful >= 0.999 if extractive_only else None),
            ("answered (cites a judged relevant article)", f"{report.answered():.1%}", "≥ 85%",
             report.answered() >= 0.85),
            ("answered, citing a grade ≥ 2 article", f"{report.answered(2):.1%}", "", None),
            ("answered, of the questions an organic article answers", f"{report.answered(organic_only=True):.1%}",
             "", None),
            ("citation precision", f"{report.citation_precision():.3f}", "≥ 0.8", report.citation_precision() >= 0.8),
            ("references cited per answer", f"{report.citations_per_answer():.2f}", "≤ 5",
             report.citations_per_answer() <= 5),
            ("no answer, unanswerable questions", f"{report.no_answer_unanswerable():.1%}", "≥ 80%",
             report.no_answer_unanswerable() >= 0.8),
            ("no answer, answerable questions", f"{report.no_answer_answerable():.1%}", "≤ 10%",
             report.no_answer_answerable() <= 0.1),
            ("nDCG@5, question alone", f"{report.ndcg('question'):.3f}", "", None),
            ("nDCG@5, question + answer (derived vector)", f"{report.ndcg('combined'):.3f}", "≥ question alone",
             report.ndcg("combined") >= report.ndcg("question")),
        ]
        if encode_answers:
            rows.append(("nDCG@5, question + answer (encoded vector)", f"{report.ndcg('encoded'):.3f}", "", None))
        rows.append(("retrieval + answer, p50 / p99 (vectors given; full service: bench/answers.py)",
                     f"{report.latency_ms(0.5):.0f} / {report.latency_ms(0.99):.0f} ms", "", None))
        for name, value, goal, met in rows:
            table.add_row(name, value, goal, "" if met is None else ("yes" if met else "NO"))
        console.print(table)
