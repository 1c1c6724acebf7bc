"""The analysts' reports pages under /reports/ (read only), and the page body the portal's reports
page shares with them. Thin: parse the filters, call ads.reports and ads.charts, render."""
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from ads import charts, exports, reports
from ads.report_forms import ReportFilterForm
from contentlib.errors import ApplicationError

SORT_COLUMNS = ("day", "campaign", "keyword", "placement", "served", "viewable", "clicks", "billed", "spend")


def report_context(request, viewer: reports.Viewer) -> dict:
    """Everything the report body (reports/_report.html) shows, for this viewer and the request's filters."""
    form = ReportFilterForm(request.GET or None, viewer=viewer)
    filters = form.filters() if request.GET else reports.filters_default()
    error = None
    try:
        report = reports.report_build(viewer=viewer, filters=filters)
    except ApplicationError as refused:  # an end date before the start: say so, show the default range
        error = refused.message
        filters = reports.filters_default()
        report = reports.report_build(viewer=viewer, filters=filters)
    sort = request.GET.get("sort", "-day")
    if sort.lstrip("-") not in SORT_COLUMNS:
        sort = "-day"
    page, rows = reports.report_table(viewer=viewer, filters=filters, sort=sort, page=request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    columns = [{"key": key, "sort": f"-{key}" if sort != f"-{key}" else key,
                "active": sort.lstrip("-") == key, "descending": sort == f"-{key}"} for key in SORT_COLUMNS]
    return {
        "form": form, "error": error, "report": report, "charts": charts.report_charts(report), "page": page,
        "rows": rows, "sort": sort, "columns": {c["key"]: c for c in columns}, "query": query.urlencode(),
        "terms": reports.search_terms(viewer=viewer, filters=filters) if report.filters.advertiser_id else [],
        "viewer": viewer,
    }


def _analyst(request):
    """The analyst's viewer, or the response that refuses the request."""
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("admin:login"))
    try:
        viewer = reports.report_viewer(user=request.user)
    except ApplicationError as refused:
        return None, render(request, "reports/forbidden.html", {"message": refused.message}, status=403)
    if not viewer.analyst:
        return None, render(request, "reports/forbidden.html", {"message": _not_analyst()}, status=403)
    return viewer, None


def _not_analyst() -> str:
    return _("These pages are for analysts. Enterprise users find their own reports in the portal, under Reports.")


@require_safe
def analyst_reports(request):
    viewer, refused = _analyst(request)
    if refused:
        return refused
    return render(request, "reports/analyst.html", report_context(request, viewer))


@require_safe
def vip(request):
    """VIP members and subscription revenue (CNY) by plan and month, as `manage.py vip_report` prints them."""
    from payments.selectors import members_and_revenue_by_plan_month  # noqa: PLC0415

    _viewer, refused = _analyst(request)
    if refused:
        return refused
    return render(request, "reports/vip.html", {"rows": members_and_revenue_by_plan_month(user=request.user),
                                                "zone": settings.AD_TIME_ZONE})


@require_safe
def reconciliation(request):
    viewer, refused = _analyst(request)
    if refused:
        return refused
    form = ReportFilterForm(request.GET or None, viewer=viewer)
    filters = form.filters() if request.GET else reports.filters_default()
    try:
        rows = reports.reconciliation(viewer=viewer, filters=filters)
    except ApplicationError as error:
        return render(request, "reports/forbidden.html", {"message": error.message}, status=400)
    return render(request, "reports/reconciliation.html", {
        "form": form, "rows": rows, "differences": [row for row in rows if row["difference"]],
        "filters": reports.filters_scoped(viewer=viewer, filters=filters), "zone": settings.AD_TIME_ZONE})


@require_safe
def charts_css(request):
    """The charts' stylesheet (pygal's, scoped), a same-origin file as the CSP asks."""
    response = HttpResponse(charts.stylesheet(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Exports: analysts (everything) and enterprise users (their own advertiser) -------------------

def _exporter(request):
    """(viewer, None) for an analyst or an enterprise user, else (None, the refusing response)."""
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("portal:login"))
    try:
        return reports.report_viewer(user=request.user), None
    except ApplicationError as refused:
        return None, render(request, "reports/forbidden.html", {"message": refused.message}, status=403)


def _export_filters(request, viewer):
    form = ReportFilterForm(request.GET or None, viewer=viewer)
    try:
        return reports.filters_scoped(viewer=viewer, filters=form.filters() if request.GET else
                                      reports.filters_default())
    except ApplicationError:
        return reports.filters_default()


def _base(request, viewer) -> dict:
    """The page frame for a viewer: the analysts' pages, or the portal's."""
    if viewer.analyst:
        return {"base_template": "reports/base.html"}
    from ads import selectors  # noqa: PLC0415

    membership = selectors.membership_of(request.user)
    return {"base_template": "portal/base.html", "membership": membership, "advertiser": membership.advertiser}


def _download_name(kind: str, filters, extension: str) -> str:
    return f"{kind}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.{extension}"


@require_safe
def export_report_csv(request):
    viewer, refused = _exporter(request)
    if refused:
        return refused
    filters = _export_filters(request, viewer)
    response = StreamingHttpResponse(exports.report_csv(viewer=viewer, filters=filters),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_download_name("report", filters, "csv")}"'
    return response


@require_safe
def export_report_xlsx(request):
    viewer, refused = _exporter(request)
    if refused:
        return refused
    filters = _export_filters(request, viewer)
    try:
        content = exports.report_xlsx(viewer=viewer, filters=filters)
    except ApplicationError as error:
        return render(request, "reports/export_refused.html", {**_base(request, viewer), "message": error.message},
                      status=400)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{_download_name("report", filters, "xlsx")}"'
    return response


@require_safe
def export_clicks_csv(request):
    """The raw click log, streamed; a log over AD_EXPORT_INLINE_ROWS offers a job instead."""
    viewer, refused = _exporter(request)
    if refused:
        return refused
    filters = _export_filters(request, viewer)
    rows = exports.click_count(viewer=viewer, filters=filters)
    if rows > settings.AD_EXPORT_INLINE_ROWS:
        return render(request, "reports/export_large.html", {
            **_base(request, viewer), "rows": rows, "limit": settings.AD_EXPORT_INLINE_ROWS,
            "query": request.GET.urlencode()})
    response = StreamingHttpResponse(exports.click_log(viewer=viewer, filters=filters),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_download_name("clicks", filters, "csv")}"'
    return response


@require_POST
def export_start(request):
    viewer, refused = _exporter(request)
    if refused:
        return refused
    filters = _export_filters(request, viewer)
    try:
        job = exports.export_job_start(user=request.user, viewer=viewer, kind=request.POST.get("kind", ""),
                                       filters=filters)
    except ApplicationError as error:
        return render(request, "reports/export_refused.html", {**_base(request, viewer), "message": error.message},
                      status=400)
    return redirect("reports:export_job", job_id=job.id)


@require_safe
def export_job(request, job_id):
    viewer, refused = _exporter(request)
    if refused:
        return refused
    job = exports.export_job_get(user=request.user, job_id=job_id)
    if job is None:
        raise Http404(_("No export of yours has this number."))
    return render(request, "reports/export_job.html", {**_base(request, viewer), "job": job})


@require_safe
def export_download(request, job_id):
    viewer, refused = _exporter(request)
    if refused:
        return refused
    job = exports.export_job_get(user=request.user, job_id=job_id)
    if job is None or job.status != job.Status.DONE or not exports.export_path(job).exists():
        raise Http404(_("This export is not ready, or no longer kept. Start it again from the reports page."))
    return FileResponse(open(exports.export_path(job), "rb"), as_attachment=True, filename=job.file_name)
