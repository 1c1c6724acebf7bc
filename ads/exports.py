"""Exports of the reports, and the raw events' retention.

- The aggregated report (rollup rows: campaign × keyword × placement × ad day) as CSV or XLSX.
- The raw click log, one row per click, as CSV streamed by PostgreSQL's `COPY (SELECT …) TO STDOUT`
  (a server-side cursor on SQLite), so that a million rows go out with flat memory. A log larger than
  AD_EXPORT_INLINE_ROWS is built by a Celery job (ExportJob) that shows its progress.
- Names advertisers type (advertiser, campaign, keyword, placement) that begin with = + - @ or a tab or
  carriage return are written with a leading apostrophe (OWASP, "CSV Injection"), so that Excel and
  LibreOffice show them as text and never run them as formulas (=HYPERLINK(…), =cmd|…).
- CSV is UTF-8 with a byte-order mark, so that Excel opens Chinese correctly; XLSX (openpyxl's
  write-only workbook) is for aggregated reports only, as Excel stops at 1,048,576 rows.
- Retention: raw impressions and clicks older than RAW_EVENT_RETENTION_DAYS are archived to a
  gzip CSV without reader keys or addresses, then deleted; the auction log's reader keys of those
  days are purged. Rollups, the ledger and conversions stay.

Every export goes through the viewer's scope (ads.reports.filters_scoped): an enterprise user's
export holds its own advertiser's rows only, whatever the filters said.
"""
import codecs
import csv
import datetime as dt
import gzip
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ads import reports
from ads.models import BILLING_REASONS, AuctionLog, Click, Conversion, ExportJob, InvalidReason, Placement, placement_label
from ads.reports import TRAFFIC_REASONS, ReportFilters, Viewer
from ads.rollups import frozen_before
from contentlib.errors import ApplicationError

BOM = codecs.BOM_UTF8
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header row
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """The value as a spreadsheet shows text: an apostrophe before a leading formula character."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _as_text_sql(column: str) -> str:
    """as_text in SQL, for the COPY of the click log (NULL stays NULL)."""
    return (f"CASE WHEN left({column}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
            f"THEN chr(39) || {column} ELSE {column} END")
KINDS = ("report_csv", "report_xlsx", "clicks_csv")
CHUNK = 64 * 1024


# --- The aggregated report ------------------------------------------------------------------------

def report_header(zone: str) -> list[str]:
    labels = dict(InvalidReason.choices)
    return [_("Ad day (%(zone)s)") % {"zone": zone}, _("Advertiser"), _("Campaign"), _("Keyword"), _("Placement"),
            _("Pricing"), _("Impressions (valid)"), _("Impressions (invalid traffic)"), _("Viewable"),
            _("Valid clicks"), _("Billed clicks"), _("Invalid clicks"),
            *[_("Invalid: %(reason)s") % {"reason": labels[reason]} for reason in TRAFFIC_REASONS],
            _("Spend (CNY)"), _("Conversions")]


def report_rows(*, viewer: Viewer, filters: ReportFilters) -> Iterator[list]:
    """The rollup rows the filters select, in day order, as export rows (see report_header)."""
    filters = reports.filters_scoped(viewer=viewer, filters=filters)
    conversions = {}
    if filters.traffic != "invalid":
        where = {"click_valid": True} if filters.traffic == "valid" else {}
        for item in (Conversion.objects.filter(reports._where(filters, day="click_ad_day"), **where).order_by()
                     .values_list("campaign_id", "keyword_id", "placement_id", "click_ad_day")):
            conversions[item] = conversions.get(item, 0) + 1
    rows = (reports.rollups(filters=filters).select_related("campaign", "campaign__advertiser", "keyword", "placement")
            .order_by("ad_day", "campaign__advertiser__name", "campaign__name", "keyword__text", "placement__slug"))
    for rollup in rows.iterator(chunk_size=2000):
        v = reports._row_values(rollup, filters.traffic)
        invalid = sum(v[f"clicks_{reason}"] for reason in TRAFFIC_REASONS)
        yield [rollup.ad_day.isoformat(), as_text(rollup.campaign.advertiser.name), as_text(rollup.campaign.name),
               as_text(rollup.keyword.text if rollup.keyword else ""), as_text(rollup.placement.label),
               rollup.campaign.pricing, v["served"], v["served_invalid"], v["viewable"], v["clicks_valid"],
               v["clicks_billed"], invalid, *[v[f"clicks_{reason}"] for reason in TRAFFIC_REASONS],
               str(Decimal(v["spend"]).quantize(reports.FINE)),
               conversions.get((rollup.campaign_id, rollup.keyword_id, rollup.placement_id, rollup.ad_day), 0)]


class _Echo:
    def write(self, value):
        return value


def report_csv(*, viewer: Viewer, filters: ReportFilters) -> Iterator[bytes]:
    """The aggregated report as CSV, UTF-8 with a BOM, a row at a time."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(report_header(str(settings.AD_TIME_ZONE))).encode()
    for row in report_rows(viewer=viewer, filters=filters):
        yield writer.writerow(row).encode()


def report_xlsx(*, viewer: Viewer, filters: ReportFilters) -> bytes:
    """The aggregated report as an XLSX workbook (write-only, so memory stays flat while it is built),
    with a second sheet naming the time zone and the filters."""
    from openpyxl import Workbook  # noqa: PLC0415  (only exports need it)

    scoped = reports.filters_scoped(viewer=viewer, filters=filters)
    if reports.rollups(filters=scoped).count() > XLSX_MAX_ROWS:
        raise ApplicationError(_("This report has more rows than Excel can open. Choose fewer ad days, or export it "
                                 "as CSV."), {"code": "too_large"})
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Report"))
    sheet.append(report_header(str(settings.AD_TIME_ZONE)))
    for row in report_rows(viewer=viewer, filters=filters):
        row[-2] = Decimal(row[-2])  # spend as a number Excel can sum
        sheet.append(row)
    about = book.create_sheet(_("About"))
    about.append([_("Business time zone"), str(settings.AD_TIME_ZONE)])
    about.append([_("From (ad day)"), scoped.date_from.isoformat()])
    about.append([_("To (ad day)"), scoped.date_to.isoformat()])
    about.append([_("Traffic"), scoped.traffic])
    about.append([_("Generated at (UTC)"), timezone.now().strftime("%Y-%m-%d %H:%M:%S")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- The raw click log ----------------------------------------------------------------------------

def click_header(zone: str) -> list[str]:
    return ["click_id", _("Time (%(zone)s)") % {"zone": zone}, _("Time (UTC)"), _("Ad day (%(zone)s)") % {"zone": zone},
            _("Advertiser"), _("Campaign"), _("Keyword"), _("Placement"), _("Pricing"), _("Price (CNY)"),
            _("Valid"), _("Reason"), _("Viewable"), _("Billed"), _("Charged (CNY)"), _("Credited"), _("Converted")]


def _click_where(filters: ReportFilters) -> tuple[str, list, str]:
    """The WHERE clause of the click log, its parameters, and the SQL test of a valid click."""
    where, params = ["c.ad_day >= %s", "c.ad_day <= %s"], [filters.date_from, filters.date_to]
    for column, value in (("cp.advertiser_id", filters.advertiser_id), ("c.campaign_id", filters.campaign_id),
                          ("c.keyword_id", filters.keyword_id), ("c.placement_id", filters.placement_id)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if filters.pricing:
        where.append("cp.pricing = %s")
        params.append(filters.pricing)
    valid = "(c.reason = '' OR c.reason IN ({}))".format(", ".join(f"'{r}'" for r in sorted(BILLING_REASONS)))
    if filters.traffic == "valid":
        where.append(valid)
    elif filters.traffic == "invalid":
        where.append(f"NOT {valid}")
    return " AND ".join(where), params, valid


_FROM = """FROM ads_click c JOIN ads_campaign cp ON cp.id = c.campaign_id JOIN ads_advertiser a ON a.id = cp.advertiser_id
LEFT JOIN ads_campaignkeyword k ON k.id = c.keyword_id
LEFT JOIN ads_impression i ON i.id = c.impression_id"""


def click_count(*, viewer: Viewer, filters: ReportFilters) -> int:
    """How many clicks the click log would hold."""
    filters = reports.filters_scoped(viewer=viewer, filters=filters)
    where, params, _valid = _click_where(filters)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ads_click c JOIN ads_campaign cp ON cp.id = c.campaign_id WHERE {where}",
                       params)
        return cursor.fetchone()[0]


def _copy_sql(filters: ReportFilters, zone: str) -> tuple[str, list]:
    where, params, valid = _click_where(filters)
    # Placements' labels in the active language (Placement.label), joined by id: there are few.
    labels = [(pk, placement_label(kind=kind, name=name, slug=slug))
              for pk, kind, name, slug in Placement.objects.values_list("id", "kind", "name", "slug")]
    select = f"""SELECT c.id, to_char(c.at AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI:SS.MS'),
    to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), c.ad_day, {_as_text_sql("a.name")},
    {_as_text_sql("cp.name")}, {_as_text_sql("k.text")}, {_as_text_sql("pl.label")}, cp.pricing, i.price, {valid}, c.reason, (i.viewable_at IS NOT NULL), c.billed,
    c.amount, (c.credited_at IS NOT NULL),
    EXISTS (SELECT 1 FROM ads_conversion v WHERE v.click_key = c.id)
    {_FROM} LEFT JOIN unnest(%s::bigint[], %s::text[]) AS pl(id, label) ON pl.id = c.placement_id
    WHERE {where} ORDER BY c.at, c.id"""
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", [zone, [pk for pk, _label in labels],
                                                          [label for _pk, label in labels], *params]


def _python_rows(filters: ReportFilters, zone: str) -> Iterator[list]:
    """The click log without COPY (SQLite, the embedded default): a server-side iterator."""
    local = ZoneInfo(zone)
    valid_q = Q(reason="") | Q(reason__in=list(BILLING_REASONS))
    queryset = Click.objects.filter(reports._where(filters), campaign__isnull=False)
    if filters.traffic == "valid":
        queryset = queryset.filter(valid_q)
    elif filters.traffic == "invalid":
        queryset = queryset.exclude(valid_q)
    converted = set(Conversion.objects.filter(reports._where(filters, day="click_ad_day"))
                    .values_list("click_key", flat=True))
    rows = (queryset.select_related("campaign", "campaign__advertiser", "keyword", "placement", "impression")
            .order_by("at", "id"))
    for click in rows.iterator(chunk_size=2000):
        impression = click.impression
        yield [str(click.id), click.at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
               click.at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
               click.ad_day.isoformat(), as_text(click.campaign.advertiser.name), as_text(click.campaign.name),
               as_text(click.keyword.text if click.keyword else ""),
               as_text(click.placement.label if click.placement else ""), click.campaign.pricing,
               impression.price if impression else "", not click.reason or click.reason in BILLING_REASONS,
               click.reason, bool(impression and impression.viewable_at), click.billed, click.amount,
               click.credited_at is not None, click.id in converted]


def click_log(*, viewer: Viewer, filters: ReportFilters, progress: Callable[[int], None] | None = None
              ) -> Iterator[bytes]:
    """The raw click log as CSV (UTF-8, BOM, header), in chunks as PostgreSQL's COPY sends them;
    `progress(rows)` is called with the rows written so far, now and then."""
    filters = reports.filters_scoped(viewer=viewer, filters=filters)
    zone = str(settings.AD_TIME_ZONE)
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(click_header(zone)).encode()
    done = reported = 0
    if connection.vendor == "postgresql":
        sql, params = _copy_sql(filters, zone)
        buffer = bytearray()
        with connection.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
            for chunk in copy:  # libpq hands over about a row at a time: sent on in blocks of CHUNK bytes
                buffer += chunk
                if len(buffer) >= CHUNK:
                    done += buffer.count(b"\n")
                    yield bytes(buffer)
                    buffer.clear()
                    if progress and done - reported >= 10_000:
                        progress(done)
                        reported = done
        if buffer:
            done += buffer.count(b"\n")
            yield bytes(buffer)
    else:
        for row in _python_rows(filters, zone):
            done += 1
            yield writer.writerow(["t" if v is True else "f" if v is False else v for v in row]).encode()
            if progress and done - reported >= 10_000:
                progress(done)
                reported = done
    if progress:
        progress(done)


# --- Jobs: exports too large for one request ------------------------------------------------------

def filters_to_json(filters: ReportFilters) -> dict:
    return {key: (value.isoformat() if isinstance(value, dt.date) else value) for key, value in vars(filters).items()}


def filters_from_json(data: dict) -> ReportFilters:
    values = dict(data)
    values["date_from"] = dt.date.fromisoformat(values["date_from"])
    values["date_to"] = dt.date.fromisoformat(values["date_to"])
    return ReportFilters(**values)


def export_job_start(*, user, viewer: Viewer, kind: str, filters: ReportFilters) -> ExportJob:
    """Queues an export for the Celery worker (after commit); the user follows it on its job page."""
    if kind not in KINDS:
        raise ApplicationError(_("There is no export “%(kind)s”. Choose report_csv, report_xlsx or clicks_csv.")
                               % {"kind": kind}, {"field": "kind"})
    filters = reports.filters_scoped(viewer=viewer, filters=filters)
    job = ExportJob.objects.create(user=user, advertiser_id=viewer.advertiser_id, kind=kind,
                                   filters=filters_to_json(filters))
    from ads import tasks  # noqa: PLC0415  (tasks import services, not the other way round)

    transaction.on_commit(lambda: tasks.export_run.delay(job.id))
    return job


def export_path(job: ExportJob) -> Path:
    return Path(settings.EXPORT_DIR) / job.file_name


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Builds a queued export's file, updating its progress; idempotent (a re-run rebuilds the file)."""
    job = ExportJob.objects.filter(id=job_id).first()
    if job is None:
        return None
    viewer = Viewer(advertiser_id=job.advertiser_id, analyst=job.advertiser_id is None)
    filters = filters_from_json(job.filters)
    extension = "xlsx" if job.kind == "report_xlsx" else "csv"
    job.file_name = f"{job.kind}-{job.id}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.{extension}"
    total = (click_count(viewer=viewer, filters=filters) if job.kind == "clicks_csv"
             else reports.rollups(filters=reports.filters_scoped(viewer=viewer, filters=filters)).count())
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.RUNNING, rows_total=total, rows_done=0,
                                               file_name=job.file_name, error="")
    path = export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")

    def progress(rows: int) -> None:
        ExportJob.objects.filter(id=job.id).update(rows_done=min(rows, total))

    try:
        with open(partial, "wb") as out:
            if job.kind == "clicks_csv":
                for chunk in click_log(viewer=viewer, filters=filters, progress=progress):
                    out.write(chunk)
            elif job.kind == "report_csv":
                for n, chunk in enumerate(report_csv(viewer=viewer, filters=filters)):
                    out.write(chunk)
                    if n and n % 10_000 == 0:
                        progress(n)
            else:
                out.write(report_xlsx(viewer=viewer, filters=filters))
        partial.replace(path)
    except (ApplicationError, OSError) as error:
        ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.FAILED, error=str(error),
                                                   finished_at=timezone.now())
        raise
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.DONE, rows_done=total,
                                               finished_at=timezone.now())
    job.refresh_from_db()
    return job


def export_job_get(*, user, job_id: int) -> ExportJob | None:
    """The user's own export job, or None (another user's job is not found)."""
    return ExportJob.objects.filter(id=job_id, user=user).first()


# --- Retention ------------------------------------------------------------------------------------

_ARCHIVE = {
    "clicks": ("ads_click", "id, impression_id, campaign_id, keyword_id, placement_id, at, ad_day, browser_family, "
                            "os_family, reason, billed, amount, ledger_entry_id, credited_at"),
    "impressions": ("ads_impression", "id, auction_id, placement_id, campaign_id, keyword_id, promotion_id, position, "
                                      "pricing, price, served_at, ad_day, viewable_at, browser_family, os_family, "
                                      "invalid_reason, cost, unbilled_reason, ledger_entry_id, credited_at"),
}


def _archive(table: str, columns: str, where: str, params: list, path: Path) -> int:
    """Writes the rows to a gzip CSV (header first); returns how many."""
    rows = 0
    with gzip.open(path, "wb") as out, connection.cursor() as cursor:
        out.write((columns.replace(" ", "") + "\n").encode())
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY (SELECT {columns} FROM {table} WHERE {where} ORDER BY ad_day, id) "
                                    "TO STDOUT WITH (FORMAT csv)", params) as copy:
                for chunk in copy:
                    data = bytes(chunk)
                    rows += data.count(b"\n")
                    out.write(data)
        else:
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY ad_day, id", params)
            text = io.TextIOWrapper(out, encoding="utf-8", newline="")
            writer = csv.writer(text)
            while batch := cursor.fetchmany(2000):
                writer.writerows(batch)
                rows += len(batch)
            text.flush()
            text.detach()
    return rows


def raw_events_retention(*, now: dt.datetime | None = None, directory: Path | None = None) -> dict:
    """Archives the raw clicks and impressions of ad days before the retention period to gzip CSV
    files (no reader keys, no addresses), deletes them, and purges the reader keys of those days'
    auction log. An impression still clicked on a later, kept day stays until that click goes.
    Returns {"before": day, "clicks": n, "impressions": n, "files": [...]}."""
    cutoff = frozen_before(now=now)
    directory = Path(directory or settings.ARCHIVE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or timezone.now()).strftime("%Y%m%dT%H%M%S")
    done = {"before": cutoff, "files": []}
    with transaction.atomic():
        old_clicks = "ad_day < %s"
        path = directory / f"clicks-before-{cutoff:%Y%m%d}-{stamp}.csv.gz"
        done["clicks"] = _archive(*_ARCHIVE["clicks"], old_clicks, [cutoff], path)
        done["files"].append(str(path))
        with connection.cursor() as cursor:
            cursor.execute("UPDATE ads_conversion SET click_id = NULL WHERE click_id IN "
                           "(SELECT id FROM ads_click WHERE ad_day < %s)", [cutoff])
            cursor.execute("DELETE FROM ads_click WHERE ad_day < %s", [cutoff])
        old_impressions = "ad_day < %s AND NOT EXISTS (SELECT 1 FROM ads_click k WHERE k.impression_id = ads_impression.id)"
        path = directory / f"impressions-before-{cutoff:%Y%m%d}-{stamp}.csv.gz"
        done["impressions"] = _archive(*_ARCHIVE["impressions"], old_impressions, [cutoff], path)
        done["files"].append(str(path))
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM ads_impression WHERE {old_impressions}", [cutoff])
        done["reader_keys"] = AuctionLog.objects.filter(ad_day__lt=cutoff).exclude(reader_key="").update(reader_key="")
    return done

