"""The analysts' reports under /reports/ (the portal's own reports page is in ads/portal/urls.py)."""
from django.urls import path

from ads import report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.analyst_reports, name="index"),
    path("reconciliation/", report_views.reconciliation, name="reconciliation"),
    path("charts.css", report_views.charts_css, name="charts_css"),
]
