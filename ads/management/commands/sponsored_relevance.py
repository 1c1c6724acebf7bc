"""`manage.py sponsored_relevance`: how well the auction's slots fit, on the judged sponsored set."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ads import sponsored
from ads.auction import FEATURES, TUNING_FILE, tuned_fit


class Command(BaseCommand):
    help = ("Runs the placement auction over the judged sponsored set (fixtures/sponsored: campaigns, promoted "
            "articles, questions answered by the extractive provider) and prints, beside a keyword-substring "
            "baseline: precision of filled slots, share of fit questions that got a fitting campaign, share of "
            "no-fit and keyword-trap questions left empty. --tune fits the relevance floor on the dev half.")

    def add_arguments(self, parser):
        parser.add_argument("--judgments", type=Path, help="A questions file in the documented format "
                            "(docs/SPONSORED_RELEVANCE.md), scored against the campaigns of --set.")
        parser.add_argument("--set", type=Path, default=sponsored.SPONSORED_DIR,
                            help="A directory with campaigns.yaml and articles/ (default fixtures/sponsored).")
        parser.add_argument("--half", choices=("dev", "test", "all"), default="test")
        parser.add_argument("--slots", type=int, default=2)
        parser.add_argument("--tune", action="store_true",
                            help="Fit the relevance floor on the dev half and write ads/auction_tuning.json.")
        parser.add_argument("--show", action="store_true", help="Print every question's slots.")

    def handle(self, *args, **options):
        try:
            judged = sponsored.judged_set(options["set"], questions=options["judgments"])
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Cannot read the judged set: {error}. See docs/SPONSORED_RELEVANCE.md for the format.")
        setup = sponsored.setup_build(judged, progress=lambda m: self.stderr.write(f"… {m}"))
        if options["tune"]:
            dev = sponsored.questions_of(judged.questions, "dev")
            if not dev:
                raise CommandError("No dev question in this set: tuning uses the committed dev half only.")
            fit, scores, info = sponsored.tune(setup, dev, slots=options["slots"])
            TUNING_FILE.write_text(json.dumps({
                "tuned_on": "dev", "split_file": "ads/sponsored_split.json", "features": list(FEATURES),
                "fit_coef": list(fit.coef), "floor": fit.floor, "answer_weight": fit.answer_weight,
                "unknown_weight": fit.unknown_weight, "idf": fit.idf, "dev_candidates": info["candidates"],
                "dev_fitting_candidates": info["fitting"],
            }, indent=1) + "\n", encoding="utf-8")
            tuned_fit.cache_clear()
            self.stdout.write(f"Wrote {TUNING_FILE.name}: floor {fit.floor}, answer weight {fit.answer_weight}, "
                              f"unknown-word weight {fit.unknown_weight}, idf {fit.idf}, "
                              f"coefficients {fit.coef}, dev candidates {info['candidates']} ({info['fitting']} fit).")
            self._table("dev (tuned)", scores, sponsored.baseline(judged, dev, slots=options["slots"]))
            return
        questions = sponsored.questions_of(judged.questions, options["half"])
        scores, outcomes = sponsored.evaluate(setup, questions, slots=options["slots"])
        self._table(options["half"], scores, sponsored.baseline(judged, questions, slots=options["slots"]))
        if options["show"]:
            for served in scores.served:
                q = served.question
                mark = "ok" if all(q.fits.get(a, 0) >= 1 for a in served.articles) else "WRONG"
                self.stdout.write(f"{q.id} [{q.type}] {q.question} → {served.articles or '—'} "
                                  f"{mark if served.articles else ''} fits={q.fits}")

    def _table(self, half: str, scores: sponsored.Scores, base: sponsored.Scores) -> None:
        fit_n = sum(s.question.type == "fit" for s in scores.served)
        empty_n = sum(s.question.type != "fit" for s in scores.served)
        rows = [
            ("precision of filled slots (goal ≥ 0.90)", scores.precision(), base.precision()),
            (f"fit questions given a fitting campaign, of {fit_n} (goal ≥ 0.80)", scores.filled(), base.filled()),
            (f"no-fit and trap questions left empty, of {empty_n} (goal ≥ 0.90)", scores.empty(), base.empty()),
            ("  no-fit questions left empty", scores.empty(("no_fit",)), base.empty(("no_fit",))),
            ("  keyword-trap questions left empty", scores.empty(("keyword_trap",)), base.empty(("keyword_trap",))),
        ]
        self.stdout.write(f"\nSponsored relevance, {half} half: {len(scores.served)} questions; "
                          f"slots filled {scores.slots()} (baseline {base.slots()})")
        self.stdout.write(f"{'':70} {'auction':>8} {'keyword substring':>18}")
        for label, ours, theirs in rows:
            self.stdout.write(f"{label:70} {ours:8.3f} {theirs:18.3f}")
        self.stdout.write("goals met" if scores.meets_goals() else "goals NOT met")
