"""`manage.py generate_traffic`: writes generated reader sessions (contentlib/traffic.py) into the
reader activity log, for the demo and for measurement, and the `ads` section's sponsored views
through the tracking and billing code (ads/demo_traffic.py). Thin: the generator and the writers
do the work.

Run again, it replaces every row it wrote before (generated reader keys start with
`contentlib.traffic.KEY_PREFIX`), so the demo's log never doubles and real readers' rows stay.
"""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from contentlib import traffic
from contentlib.models import Question
from contentlib.selectors import article_published
from recommender.activity import activities_write, activity_row
from recommender.models import ReaderActivity


def _corpus_article_ids() -> dict[str, int]:
    """Corpus article id (zh-exh-01) -> the library's article id, for the crawled demo articles that
    are published (a reader cannot read the others)."""
    ids = {}
    for article_id, url in article_published().exclude(canonical_url=None).values_list("id", "canonical_url"):
        ids.setdefault(url.rsplit("/", 1)[-1].removesuffix(".html"), article_id)
    return ids


class Command(BaseCommand):
    help = "Writes generated reader sessions over the demo corpus into the reader activity log."

    def add_arguments(self, parser):
        parser.add_argument("--params", help="Parameters file (default fixtures/traffic/params.yaml).")
        parser.add_argument("--section", action="append", dest="sections",
                            help=f"Which traffic to generate (default every section of the file): {', '.join(traffic.GENERATORS)}.")
        parser.add_argument("--until", type=dt.date.fromisoformat, help="Last ad day (default yesterday).")
        parser.add_argument("--readers", type=int, help="Override the number of readers.")

    def handle(self, *args, params=None, sections=None, until=None, readers=None, **options):
        try:
            values = traffic.params_load(params)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the traffic parameters ({error}). Pass --params with a YAML file "
                               f"like fixtures/traffic/params.yaml.") from None
        if readers is not None:
            values["readers"]["count"] = readers
        articles = _corpus_article_ids()
        if not articles and (not sections or "readers" in sections):
            raise CommandError("No published demo articles are in the library: run `manage.py demo` (it crawls and "
                               "approves them) first.")
        questions = dict(Question.objects.values_list("normalized_text", "id"))
        rows, skipped, sessions, ad_views = [], 0, set(), []
        try:
            events = traffic.generate(values, sections=sections, until=until)
            for event in tqdm(events, desc="sessions", unit=" events", file=self.stderr):
                if event.kind == "ad_view":
                    ad_views.append(event)
                    continue
                article_id = articles.get(event.article) if event.article else None
                if event.article and article_id is None:
                    skipped += 1  # an article the demo crawl did not bring in
                    continue
                sessions.add(event.reader_key)
                rows.append(activity_row(kind=event.kind, reader_key=event.reader_key, at=event.at,
                                         placement=event.placement, query=event.query, article_id=article_id,
                                         question_id=questions.get(event.query) if event.query else None))
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not sections or "readers" in sections:
            with transaction.atomic():
                replaced = ReaderActivity.objects.filter(reader_key__startswith=traffic.KEY_PREFIX).delete()[0]
                written = activities_write(rows)
            self.stdout.write(f"Wrote {written} activity rows for {len(sessions)} reader sessions "
                              f"(replaced {replaced} from an earlier run; {skipped} reads of articles not published here skipped).")
        if ad_views:
            self._ads(ad_views, values)

    def _ads(self, ad_views, values):
        from django.contrib.auth import get_user_model  # noqa: PLC0415

        from ads.demo_traffic import ad_traffic_write  # noqa: PLC0415  (the site layer may import ads)

        # The refund and credit are signed by the first superuser (demo-admin in the demo), or "system".
        staff = get_user_model().objects.filter(is_superuser=True).order_by("id").first()
        done = ad_traffic_write(tqdm(ad_views, desc="sponsored views", unit=" views", file=self.stderr), staff=staff,
                                refund=str(values["ads"].get("refund", "0")), seed=int(values.get("seed", 0)))
        if done.skipped:
            self.stdout.write(f"Ad traffic not written: {done.skipped}.")
        else:
            self.stdout.write(f"Wrote ad traffic over {done.days} ad days: {done.auctions} auctions, {done.impressions} "
                              f"impressions, {done.clicks} clicks, {done.conversions} conversions, one credit and a "
                              f"refund; rollups recomputed.")
