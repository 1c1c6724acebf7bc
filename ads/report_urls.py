"""The analysts' reports under /reports/ (the portal's own reports page is in ads/portal/urls.py)."""
from django.urls import path

from ads import report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.analyst_reports, name="index"),
    path("reconciliation/", report_views.reconciliation, name="reconciliation"),
    path("vip/", report_views.vip, name="vip"),
    path("charts.css", report_views.charts_css, name="charts_css"),
    # Exports: analysts' and enterprise users' (their own advertiser's), by the same filters.
    path("export/report.csv", report_views.export_report_csv, name="export_report_csv"),
    path("export/report.xlsx", report_views.export_report_xlsx, name="export_report_xlsx"),
    path("export/clicks.csv", report_views.export_clicks_csv, name="export_clicks_csv"),
    path("exports/", report_views.export_start, name="export_start"),
    path("exports/<int:job_id>/", report_views.export_job, name="export_job"),
    path("exports/<int:job_id>/download/", report_views.export_download, name="export_download"),
]
