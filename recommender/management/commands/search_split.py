"""`manage.py search_split`: deals newly judged queries into the dev and test halves, before any tuning."""
from django.core.management.base import BaseCommand

from contentlib import corpus
from recommender.search.split import SPLIT_FILE, split_extend, split_load, split_save


class Command(BaseCommand):
    help = ("Adds the judged queries that are in neither half to the dev/test split (stratified by language and "
            "query type); queries already split stay where they are. Run it before search_tune, then commit the file.")

    def handle(self, *args, **options):
        before = split_load()
        after = split_extend(before, corpus.queries())
        added = {half: len(after[half]) - len(before[half]) for half in ("dev", "test")}
        if not any(added.values()):
            self.stdout.write(f"Every judged query is already in {SPLIT_FILE.name}; nothing to add.")
            return
        split_save(after)
        self.stdout.write(f"{SPLIT_FILE.name}: +{added['dev']} dev (now {len(after['dev'])}), "
                          f"+{added['test']} test (now {len(after['test'])}). Commit it before tuning.")
