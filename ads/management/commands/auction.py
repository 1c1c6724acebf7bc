"""`manage.py auction "<question>"`: answers the question and runs the auction of the question placement."""
from django.core.management.base import BaseCommand, CommandError

from ads.auction import REASONS, auction_for_answer, placement_get
from contentlib.errors import ApplicationError
from recommender.answers.services import answer_question


class Command(BaseCommand):
    help = ("Answers the question (as the Q&A site does), runs the placement auction beside the answer and prints "
            "the slots with their scores and prices, then every other candidate and why it lost. The auction is "
            "logged like a reader's.")

    def add_arguments(self, parser):
        parser.add_argument("question")
        parser.add_argument("--placement", default="question", help="Placement slug (default: question).")

    def handle(self, *args, **options):
        try:
            placement = placement_get(options["placement"])
            answer = answer_question(question_text=options["question"], count_ask=False)
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Answer ({answer.provider}): {answer.text[:300]}")
        result = auction_for_answer(placement=placement, answer=answer)
        self.stdout.write(f"\nPlacement {placement.slug}: {len(result.slots)} of {placement.slots} slots filled, "
                          f"{result.candidates} candidates, relevance floor {result.floor:.2f}, log #{result.log_id}")
        for slot in result.slots:
            unit = "per click" if slot.pricing == "cpc" else "per impression"
            self.stdout.write(
                f"  [{slot.position}] 广告 / Sponsored · {slot.advertiser_name} · {slot.title}\n"
                f"      campaign #{slot.campaign_id} {slot.campaign_name} · keyword {slot.keyword!r} · "
                f"relevance {slot.relevance:.3f} · score {slot.score:.6f} · bid {slot.bid} · pays {slot.price} CNY {unit}")
        for outcome in result.outcomes.values():
            if outcome.reason != "won":
                score = f" · score {outcome.score:.6f}" if outcome.score is not None else ""
                relevance = f" · relevance {outcome.relevance:.3f}" if outcome.relevance is not None else ""
                self.stdout.write(f"  lost: campaign #{outcome.campaign_id} ({outcome.reason}){relevance}{score}: "
                                  f"{REASONS[outcome.reason]}")
