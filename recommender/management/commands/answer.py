"""`manage.py answer "<question>"`: the answer to a question, with its references, as readers get it."""
from django.core.management.base import BaseCommand, CommandError

from contentlib.errors import ApplicationError
from contentlib.selectors import answer_references


class Command(BaseCommand):
    help = "Answers a question from the library (the configured LLM_PROVIDER) and prints its references."

    def add_arguments(self, parser):
        parser.add_argument("question", help="The question, in quotes.")
        parser.add_argument("--provider", choices=("extractive", "openai", "transformers"),
                            help="Another provider than LLM_PROVIDER.")
        parser.add_argument("--fresh", action="store_true", help="Write a new answer even if one is cached.")

    def handle(self, *args, question, provider, fresh, **options):
        from recommender.answers import provider_get  # noqa: PLC0415
        from recommender.answers.services import answer_generate, answer_question  # noqa: PLC0415

        try:
            chosen = provider_get(provider)
            if fresh:
                from contentlib.services import question_get_or_create  # noqa: PLC0415
                from recommender.text import detect_language  # noqa: PLC0415

                record = question_get_or_create(text=question, language=detect_language(question))
                answer = answer_generate(question=record, provider=chosen)
            else:
                answer = answer_question(question_text=question, provider=chosen)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(answer.text)
        if answer.notice:
            self.stdout.write(self.style.WARNING(f"\n{answer.notice}"))
        self.stdout.write("")
        for n, article in enumerate(answer_references(answer=answer), start=1):
            self.stdout.write(f"[{n}] {article.title}  (#{article.id}{' ' + article.url if article.url else ''})")
        self.stdout.write(self.style.HTTP_INFO(
            f"\n{answer.provider} ({answer.model_name}), answer #{answer.id} to question #{answer.question_id}, "
            f"generated {answer.generated_at:%Y-%m-%d %H:%M}"
            + (f" in {answer.generation_ms} ms" if answer.generation_ms is not None else "")))
