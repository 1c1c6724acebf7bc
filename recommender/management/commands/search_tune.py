"""`manage.py search_tune`: tunes fusion weights and the nothing-fits model on the dev half only."""
import json

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recommender.answers import quality
from recommender.retrieval import TUNING_FILE, tuned_params
from recommender.search import relevance


class Command(BaseCommand):
    help = "Tunes per-language fusion weights and nothing-fits thresholds on the dev half; writes tuning.json."

    def handle(self, *args, **options):
        console = Console()
        console.print("Indexing the fixture corpus (embedding it on first run)…")
        index = relevance.fixture_index()
        languages = sorted({q.lang for q in relevance.queries_of("dev")})
        with Progress(TextColumn("Tuning on dev"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("", total=(len(relevance.FUSION_GRID) + 1) * len(languages))
            tuning = relevance.tune(index, progress=lambda label: bar.update(task, advance=1, description=label))
        TUNING_FILE.write_text(json.dumps(tuning, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tuned_params.cache_clear()
        # Then the weights of an extractive answer, from the extractive answers the retrieval just
        # tuned gives on dev (they quote its first references, so they come second).
        console.print("Answering the dev half extractively for the extractive answer weights…")
        extractive = quality.tune_extractive_answer_weights(
            quality.fixture_library(index=index), relevance.queries_of("dev"), tuned_params())
        for language, (lexical_weight, vector_weight) in extractive.items():
            tuning["languages"][language]["extractive_answer_lexical_weight"] = lexical_weight
            tuning["languages"][language]["extractive_answer_vector_weight"] = vector_weight
        TUNING_FILE.write_text(json.dumps(tuning, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tuned_params.cache_clear()
        table = Table(title=f"Tuned on the dev half → {TUNING_FILE.name}")
        for column in ("language", "method", "lexical weight", "vector weight", "rrf k", "fit coef", "fit threshold",
                       "lexical-only fit coef", "lexical-only threshold", "answer lexical weight",
                       "answer vector weight", "extractive answer lexical weight", "extractive answer vector weight"):
            table.add_column(column)
        for language, values in tuning["languages"].items():
            table.add_row(language, values["method"], str(values["lexical_weight"]), str(values["vector_weight"]),
                          str(values["rrf_k"]), str(values["fit_coef"]), str(values["fit_threshold"]),
                          str(values["lexical_fit_coef"]), str(values["lexical_fit_threshold"]),
                          str(values["answer_lexical_weight"]), str(values["answer_vector_weight"]),
                          str(values["extractive_answer_lexical_weight"]), str(values["extractive_answer_vector_weight"]))
        console.print(table)
