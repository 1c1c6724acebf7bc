"""The one-way rule for the recommender: it never imports ads (the site layer writes its activity
log after the validity check), and the traffic generator in the core imports no recommender."""
from pathlib import Path

from django.conf import settings

from tests.ads.test_layering import imported_modules


def test_the_recommender_never_imports_ads_or_the_site_layer():
    files = list(Path(settings.BASE_DIR, "recommender").rglob("*.py"))
    offending = {str(p): sorted(n for n in imported_modules(p) if n == "ads" or n.startswith(("ads.", "contentlib.site")))
                 for p in files}
    assert {p: n for p, n in offending.items() if n} == {}


def test_the_traffic_generator_imports_nothing_above_the_core():
    names = imported_modules(Path(settings.BASE_DIR, "contentlib", "traffic.py"))
    assert not [n for n in names if n.startswith(("recommender", "ads", "contentlib.site", "crawlers"))]
