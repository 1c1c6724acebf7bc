"""`manage.py cooccurrence_rebuild`: rebuilds the co-occurrence models now (the nightly task's work)."""
from django.core.management.base import BaseCommand
from tqdm import tqdm

from recommender.cooccurrence import model_rebuild

STEPS = ["read", "counts", "qq", "qa", "aa", "pack", "saved"]
LABELS = {"read": "reading the activity log", "counts": "counting sessions", "qq": "query → query",
          "qa": "query → article", "aa": "article → article", "pack": "packing", "saved": "saved"}


class Command(BaseCommand):
    help = "Rebuilds the co-occurrence models from the reader activity log and makes them the active ones."

    def handle(self, *args, **options):
        with tqdm(total=len(STEPS), desc="rebuild", unit=" steps", file=self.stderr) as bar:
            def progress(step: str) -> None:
                bar.set_postfix_str(LABELS.get(step, step))
                bar.update(1)

            model = model_rebuild(progress=progress)
        self.stdout.write(
            f"Model #{model.id} is active: {model.events} events in {model.sessions} sessions, {model.queries} queries, "
            f"{model.articles} articles; scored pairs {model.pairs}; {model.duration_seconds:.1f} s.")
