"""`manage.py export_report clicks|report|xlsx --from D --to D [--advertiser N] ... --output FILE`:
the reports' exports from the command line (every advertiser unless --advertiser), with a progress bar."""
import datetime as dt
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ads import exports, reports
from contentlib.errors import ApplicationError

KINDS = {"clicks": "clicks_csv", "report": "report_csv", "xlsx": "report_xlsx"}


class Command(BaseCommand):
    help = ("Writes the raw click log (clicks: CSV, one row per click, streamed by COPY), the aggregated report "
            "(report: CSV) or the aggregated report as XLSX (xlsx) for ad days --from to --to in AD_TIME_ZONE; "
            "CSV is UTF-8 with a BOM. A progress bar goes to stderr.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--from", dest="date_from", type=dt.date.fromisoformat, help="First ad day (YYYY-MM-DD); "
                            "default 30 days ago.")
        parser.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, help="Last ad day; default today.")
        for name in ("advertiser", "campaign", "keyword", "placement"):
            parser.add_argument(f"--{name}", type=int, help=f"Only this {name} (id).")
        parser.add_argument("--pricing", choices=["cpc", "cpm"], default="")
        parser.add_argument("--traffic", choices=list(reports.TRAFFIC), default="all")
        parser.add_argument("--output", "-o", required=True, help="The file to write.")

    def handle(self, *args, **options):
        default = reports.filters_default()
        filters = reports.ReportFilters(
            date_from=options["date_from"] or default.date_from, date_to=options["date_to"] or default.date_to,
            advertiser_id=options["advertiser"], campaign_id=options["campaign"], keyword_id=options["keyword"],
            placement_id=options["placement"], pricing=options["pricing"], traffic=options["traffic"])
        viewer = reports.Viewer(advertiser_id=None, analyst=True)  # the operator at the console sees everything
        kind = KINDS[options["kind"]]
        try:
            filters = reports.filters_scoped(viewer=viewer, filters=filters)
            total = (exports.click_count(viewer=viewer, filters=filters) if kind == "clicks_csv"
                     else reports.rollups(filters=filters).count())
            with open(options["output"], "wb") as out, tqdm(total=total, unit="rows", file=sys.stderr,
                                                            disable=options["verbosity"] == 0) as bar:
                if kind == "report_xlsx":
                    out.write(exports.report_xlsx(viewer=viewer, filters=filters))
                    bar.update(total)
                elif kind == "report_csv":
                    for n, chunk in enumerate(exports.report_csv(viewer=viewer, filters=filters)):
                        out.write(chunk)
                        if n:
                            bar.update(1)
                else:
                    written = 0

                    def progress(rows: int) -> None:
                        nonlocal written
                        bar.update(rows - written)
                        written = rows

                    for chunk in exports.click_log(viewer=viewer, filters=filters, progress=progress):
                        out.write(chunk)
        except (ApplicationError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{total} rows, ad days {filters.date_from} to {filters.date_to} "
                          f"({settings.AD_TIME_ZONE}) → {options['output']}")
