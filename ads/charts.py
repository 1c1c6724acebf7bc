"""Server-rendered SVG charts of a report (pygal), fit for a page under a strict CSP.

pygal puts a <script> (its tooltip configuration), a <style> and a few style attributes inside
every SVG. Inline in a page, the CSP (no 'unsafe-inline') would block them, so they are taken out:
the script is dropped (the charts need none), and the styles live in one stylesheet (`stylesheet`,
served at /reports/charts.css), scoped under .pygal-chart so that they touch nothing else.
"""
import datetime as dt
import functools
import html
import re
import unicodedata
from decimal import Decimal

import pygal
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from ads.reports import Report

FONT = 'system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", sans-serif'
STYLE = Style(
    font_family=FONT, label_font_family=FONT, major_label_font_family=FONT, value_font_family=FONT,
    title_font_family=FONT, legend_font_family=FONT, tooltip_font_family=FONT, no_data_font_family=FONT,
    background="transparent", plot_background="#ffffff", foreground="#333333", foreground_strong="#111111",
    foreground_subtle="#888888", title_font_size=15, label_font_size=11, major_label_font_size=11,
    legend_font_size=12, value_font_size=11,
    colors=("#2f6fb0", "#e07b39", "#3a9d5d", "#c23b3b", "#7d5ba6", "#8c8c8c", "#d4a017", "#1f9e9e"),
)
CONFIG = {"style": STYLE, "js": [], "no_prefix": True, "disable_xml_declaration": True, "width": 560,
          "height": 300, "explicit_size": False, "legend_at_bottom": True, "legend_at_bottom_columns": 3,
          "margin": 12, "margin_bottom": 28, "truncate_label": 24, "no_data_text": ""}

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S)
_STYLE_ATTR = re.compile(r'\sstyle="[^"]*"')


def _clean(svg: str, label: str) -> SafeString:
    svg = _SCRIPT.sub("", svg)
    svg = _STYLE.sub("", svg)
    svg = _STYLE_ATTR.sub("", svg)
    # An accessible name: the chart is an image to a screen reader.
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)
    return mark_safe(svg)  # noqa: S308  (pygal escapes the labels and values it writes)


@functools.cache
def stylesheet() -> str:
    """pygal's stylesheet for STYLE, every selector scoped under .pygal-chart; tooltips hidden."""
    chart = pygal.Bar(**CONFIG)
    for n in range(len(STYLE.colors)):  # one series per colour, so that every .color-N rule is written
        chart.add(str(n), [1])
    css = html.unescape("".join(_STYLE.findall(chart.render(is_unicode=True))))
    rules = []
    for block in css.split("}"):
        if "{" not in block:
            continue
        selectors, body = block.split("{", 1)
        scoped = []
        for selector in selectors.split(","):
            selector = selector.strip()
            if selector.startswith("@"):  # none today; a media query would need nesting
                scoped = []
                break
            scoped.append(f".pygal-chart {selector}" if selector else ".pygal-chart")
        if scoped:
            rules.append(f"{','.join(scoped)}{{{body}}}")
    rules.append(".pygal-chart .tooltip{opacity:0}")
    return "\n".join(rules) + "\n"


WEEKLY_AFTER_DAYS = 62  # longer ranges are charted by week: a year of daily bars is 1.5 px each, and
# pygal's time grows with the bars (a year of days took 0.7 s of a 1 s page, profiled)


def _periods(report: Report) -> tuple[bool, list[dict]]:
    """(by week?, one row per ad day, or per week (Monday to Sunday, cut at the range's ends)) with
    its label and summed figures; CTR is the period's valid clicks / valid impressions."""
    if len(report.daily) <= WEEKLY_AFTER_DAYS:
        return False, [{**day, "label": day["ad_day"].strftime("%m-%d")} for day in report.daily]
    weeks: dict = {}
    for day in report.daily:
        start = day["ad_day"] - dt.timedelta(days=day["ad_day"].weekday())
        week = weeks.setdefault(start, {"label": max(start, report.filters.date_from).strftime("%m-%d"),
                                        "served": 0, "served_all": 0, "viewable": 0, "clicks_valid": 0,
                                        "clicks_invalid": 0, "spend_cents": Decimal(0)})
        for name in ("served", "served_all", "viewable", "clicks_valid", "clicks_invalid", "spend_cents"):
            week[name] += day[name]
    for week in weeks.values():
        week["ctr"] = week["clicks_valid"] * 100 / week["served"] if week["served"] else None
    return True, list(weeks.values())


def _line_labels(chart, labels: list[str]) -> None:
    chart.x_labels = labels
    if len(labels) > 16:  # a month of days: every few labelled
        chart.x_labels_major_every = max(1, len(labels) // 8)
        chart.show_minor_x_labels = False


def impressions_chart(report: Report) -> SafeString:
    """Impressions served (valid and invalid traffic) and viewable, by day or week."""
    weekly, rows = _periods(report)
    title = (_("Impressions by week (%(zone)s)") if weekly else _("Impressions by day (%(zone)s)")) % {"zone": report.zone}
    chart = pygal.Bar(title=title, **CONFIG)
    _line_labels(chart, [row["label"] for row in rows])
    chart.add(_("Served"), [row["served_all"] for row in rows])
    chart.add(_("Viewable"), [row["viewable"] for row in rows])
    return _clean(chart.render(is_unicode=True), title)


def clicks_chart(report: Report) -> SafeString:
    """Valid and invalid clicks, stacked, by day or week."""
    weekly, rows = _periods(report)
    title = (_("Clicks by week (%(zone)s)") if weekly else _("Clicks by day (%(zone)s)")) % {"zone": report.zone}
    chart = pygal.StackedBar(title=title, **CONFIG)
    _line_labels(chart, [row["label"] for row in rows])
    chart.add(_("Valid clicks"), [row["clicks_valid"] for row in rows])
    chart.add(_("Invalid clicks"), [row["clicks_invalid"] for row in rows])
    return _clean(chart.render(is_unicode=True), title)


def spend_chart(report: Report) -> SafeString:
    weekly, rows = _periods(report)
    title = (_("Spend by week, CNY (%(zone)s)") if weekly else _("Spend by day, CNY (%(zone)s)")) % {"zone": report.zone}
    chart = pygal.Bar(title=title, show_legend=False, value_formatter=lambda v: f"{v:,.2f}", **CONFIG)
    _line_labels(chart, [row["label"] for row in rows])
    chart.add(_("Spend"), [float(row["spend_cents"]) for row in rows])
    return _clean(chart.render(is_unicode=True), title)


def ctr_chart(report: Report) -> SafeString:
    weekly, rows = _periods(report)
    title = _("Click-through rate by week, %") if weekly else _("Click-through rate by day, %")
    chart = pygal.Line(title=title, show_legend=False, value_formatter=lambda v: f"{v:.2f}%", **CONFIG)
    _line_labels(chart, [row["label"] for row in rows])
    chart.add(_("CTR"), [float(row["ctr"]) if row["ctr"] is not None else None for row in rows])
    return _clean(chart.render(is_unicode=True), title)


def _wide(text: str) -> int:
    return sum(1 for char in text if unicodedata.east_asian_width(char) in "WF")


def _ranked(title: str, rows: list[tuple[str, float]], series: str) -> SafeString:
    # pygal sizes the label column as if every character were narrow; Chinese ones take twice that.
    extra = max((_wide(label[:24]) for label, _value in rows), default=0) * STYLE.label_font_size * 0.6
    config = dict(CONFIG, height=max(160, 60 + 28 * len(rows)), margin_left=12 + int(extra))
    chart = pygal.HorizontalBar(title=title, show_legend=False, print_values=True, **config)
    rows = list(reversed(rows))  # pygal draws the first row at the bottom
    chart.x_labels = [label for label, _value in rows]
    chart.add(series, [value for _label, value in rows])
    return _clean(chart.render(is_unicode=True), title)


def keywords_chart(report: Report) -> SafeString:
    rows = [(f'{row["keyword__text"] or _("(no keyword)")} · {row["campaign__name"]}', row["clicks_valid"])
            for row in report.keywords]
    return _ranked(_("Top keywords by valid clicks"), rows, _("Valid clicks"))


def placements_chart(report: Report) -> SafeString:
    rows = [(row["placement_label"], row["clicks_valid"]) for row in report.placements]
    return _ranked(_("Top placements by valid clicks"), rows, _("Valid clicks"))


def invalid_chart(report: Report) -> SafeString:
    rows = [(item["label"], item["clicks"]) for item in report.invalid_by_reason if item["clicks"]]
    return _ranked(_("Invalid clicks by reason"), rows, _("Invalid clicks"))


def report_charts(report: Report) -> list[SafeString]:
    """Every chart of the reports page, in page order; no keywords chart for the whole site (the
    report has no top keywords then: ads.reports.keyword_bounded)."""
    keywords = [keywords_chart(report)] if report.keywords_shown else []
    return [impressions_chart(report), clicks_chart(report), spend_chart(report), ctr_chart(report), *keywords,
            placements_chart(report), invalid_chart(report)]
