"""Heavy ML libraries are imported on first use, never at Django start-up: every process (a web worker,
`manage.py export_report`, a Celery worker) would otherwise carry them (scikit-learn with scipy is
about 100 MB of RSS) whether it needs them or not. Admin autodiscovery imports every app's admin
module, and with it their services, the auction, dedup and the recommender."""
import json
import os
import subprocess
import sys

from django.conf import settings

HEAVY = ("sklearn", "scipy", "datasketch", "torch", "sentence_transformers", "transformers", "lance", "lancedb",
         "pyarrow", "pandas", "onnxruntime")


def test_django_setup_and_the_reports_import_no_heavy_library():
    script = ("import json, sys, django; django.setup(); "
              "from ads import exports, reports, report_views; from django.urls import resolve; resolve('/'); "
              f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "contentlib.config.settings", "LOCAL_SECRET_KEY": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
