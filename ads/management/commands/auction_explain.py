"""`manage.py auction_explain <campaign> "<question>"`: why a campaign was (not) shown for a question."""
from django.core.management.base import BaseCommand, CommandError

from ads.auction import explain_question, placement_get
from ads.models import Campaign
from contentlib.errors import ApplicationError


class Command(BaseCommand):
    help = ("Re-runs eligibility and scoring for one campaign (id or exact name) against the answer to the question, "
            "with the bids of now, and says why it was or was not shown. Nothing is logged or charged.")

    def add_arguments(self, parser):
        parser.add_argument("campaign", help="Campaign id or exact name.")
        parser.add_argument("question")
        parser.add_argument("--placement", default="question")

    def handle(self, *args, **options):
        key = options["campaign"]
        campaigns = Campaign.objects.filter(id=int(key)) if key.isdigit() else Campaign.objects.filter(name=key)
        campaign = campaigns.select_related("advertiser").first()
        if campaign is None:
            raise CommandError(f"No campaign has the id or name {key!r}. List them in the admin (Campaigns).")
        try:
            explanation = explain_question(campaign=campaign, question_text=options["question"],
                                           placement=placement_get(options["placement"]))
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Campaign #{campaign.id} {campaign.name} ({campaign.advertiser.name}): "
                          f"{'shown' if explanation.shown else 'not shown'} ({explanation.reason})")
        self.stdout.write(f"  {explanation.message}")
        outcome = explanation.outcome
        if outcome is not None:
            if outcome.keyword:
                self.stdout.write(f"  matched keyword {outcome.keyword!r}, bid {outcome.bid}")
            if outcome.relevance is not None:
                self.stdout.write(f"  relevance {outcome.relevance:.3f} (floor {explanation.floor:.2f}); "
                                  f"cosine {outcome.features[0]:.3f}, word coverage {outcome.features[1]:.3f}")
            if outcome.score is not None:
                self.stdout.write(f"  score {outcome.score:.6f}")
        if explanation.lowest_winning_score is not None:
            self.stdout.write(f"  lowest winning score among the {explanation.slots} slots: "
                              f"{explanation.lowest_winning_score:.6f}")
