"""`manage.py analysis_draft <category>`: an AI-written industry analysis, stored for review."""
from django.core.management.base import BaseCommand, CommandError

from contentlib.errors import ApplicationError


class Command(BaseCommand):
    help = ("Drafts an industry analysis of a category from its recent published articles, through the configured "
            "LLM_PROVIDER, and stores it as a pending AI-generated article for an editor to approve.")

    def add_arguments(self, parser):
        parser.add_argument("category", help="The category's slug, e.g. logistics.")
        parser.add_argument("--sources", type=int, default=5, help="How many recent articles to draw on (default 5).")

    def handle(self, *args, category, sources, **options):
        from recommender.answers.services import analysis_draft  # noqa: PLC0415

        try:
            article = analysis_draft(category_slug=category, sources=sources)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(article.text)
        self.stdout.write(self.style.SUCCESS(
            f"\nStored as article #{article.id}, AI-generated, pending review (admin → Articles)."))
