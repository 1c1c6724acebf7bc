"""`manage.py search_tune`: tunes fusion weights and the nothing-fits model on the dev half only."""
import json

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recommender.answers import quality
from recommender.retrieval import TUNING_FILE, FusionParams, tuned_params
from recommender.search import centering, relevance

# What the centered ranking tunes apart from the raw one (the fit always reads raw scores).
CENTERED_FIELDS = ("method", "lexical_weight", "vector_weight", "rrf_k", "answer_lexical_weight",
                   "answer_vector_weight")


class Command(BaseCommand):
    help = ("Tunes per-language fusion weights and nothing-fits thresholds on the dev half, raw and with "
            "centered vectors; writes tuning.json and the centering means (vector_centering.json).")

    def add_arguments(self, parser):
        parser.add_argument("--no-centering", action="store_true",
                            help="tune the raw vectors only and remove the centering means (no centering anywhere)")

    def _tune(self, console, index, label):
        languages = sorted({q.lang for q in relevance.queries_of("dev")})
        with Progress(TextColumn(f"Tuning on dev ({label})"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("", total=(len(relevance.FUSION_GRID) + 1) * len(languages))
            return relevance.tune(index, progress=lambda label: bar.update(task, advance=1, description=label))

    @staticmethod
    def _tune_extractive(index, params, targets) -> None:
        """Sets each language's extractive answer weights in `targets`, tuned on dev over `index`
        with `params` (an extractive answer quotes the retrieval's first references, so this comes
        after the fusion is tuned)."""
        extractive = quality.tune_extractive_answer_weights(
            quality.fixture_library(index=index), relevance.queries_of("dev"), params)
        for language, (lexical_weight, vector_weight) in extractive.items():
            targets[language]["extractive_answer_lexical_weight"] = lexical_weight
            targets[language]["extractive_answer_vector_weight"] = vector_weight

    @staticmethod
    def _write(tuning):
        TUNING_FILE.write_text(json.dumps(tuning, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tuned_params.cache_clear()

    def handle(self, *args, **options):
        console = Console()
        console.print("Indexing the fixture corpus (embedding it on first run)…")
        # First the raw vectors: the fit (nothing fits) and the answers' ranking always read raw cosines.
        index = relevance.fixture_index(means=None)
        tuning = self._tune(console, index, "raw vectors")
        self._write(tuning)
        # Then the weights of an extractive answer, from the extractive answers the retrieval just
        # tuned gives on dev (they quote its first references, so they come second).
        console.print("Answering the dev half extractively for the extractive answer weights…")
        self._tune_extractive(index, tuned_params(), tuning["languages"])
        self._write(tuning)
        if options["no_centering"]:
            centering.CENTERING_FILE.unlink(missing_ok=True)
            centering.saved.cache_clear()
        else:
            # The ranking over centered vectors (recommender.search.centering): the means of the
            # fixture corpus's passage vectors, the fusion and answer weights tuned over them.
            # As saved (rounded), so that the index tuned on is the one readers get.
            means = centering.save(relevance.fixture_centering(index))
            centered_index = relevance.fixture_index(means=means)
            centered = self._tune(console, centered_index, "centered vectors")
            for language, values in centered["languages"].items():
                tuning["languages"][language]["centered"] = {name: values[name] for name in CENTERED_FIELDS}
            self._write(tuning)
            console.print("Answering the dev half extractively for the extractive answer weights (centered)…")
            flat = {language: FusionParams(**values["centered"]) for language, values in tuning["languages"].items()}
            self._tune_extractive(centered_index, flat,
                                  {language: values["centered"] for language, values in tuning["languages"].items()})
            self._write(tuning)
        table = Table(title=f"Tuned on the dev half → {TUNING_FILE.name}")
        for column in ("language", "method", "lexical weight", "vector weight", "rrf k", "fit coef", "fit threshold",
                       "lexical-only fit coef", "lexical-only threshold", "answer lexical weight",
                       "answer vector weight", "extractive answer lexical weight", "extractive answer vector weight"):
            table.add_column(column)
        for language, values in tuning["languages"].items():
            if values.get("centered"):
                row = values["centered"]
                table.add_row(f"{language} (centered)", row["method"], str(row["lexical_weight"]),
                              str(row["vector_weight"]), str(row["rrf_k"]), "(raw)", "(raw)", "(raw)", "(raw)",
                              str(row["answer_lexical_weight"]), str(row["answer_vector_weight"]),
                              str(row["extractive_answer_lexical_weight"]),
                              str(row["extractive_answer_vector_weight"]))
            table.add_row(language, values["method"], str(values["lexical_weight"]), str(values["vector_weight"]),
                          str(values["rrf_k"]), str(values["fit_coef"]), str(values["fit_threshold"]),
                          str(values["lexical_fit_coef"]), str(values["lexical_fit_threshold"]),
                          str(values["answer_lexical_weight"]), str(values["answer_vector_weight"]),
                          str(values["extractive_answer_lexical_weight"]), str(values["extractive_answer_vector_weight"]))
        console.print(table)
