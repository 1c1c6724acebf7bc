"""bench/tracking.py migrates the database it is given and writes into it: it must refuse a real one."""
import importlib.util
from pathlib import Path

import pytest

from ads.models import Advertiser

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "tracking.py"


def bench_tracking():
    spec = importlib.util.spec_from_file_location("bench_tracking_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_database_of_earlier_bench_runs_is_accepted():
    Advertiser.objects.create(name="bench tracking 1764000000000000000")

    bench_tracking().refuse_a_real_database()  # returns: nothing but the bench's own advertisers


def test_a_database_with_real_advertisers_is_refused_with_what_to_do():
    Advertiser.objects.create(name="bench tracking 1764000000000000000")
    Advertiser.objects.create(name="真实企业")

    with pytest.raises(SystemExit, match="holds 1 advertiser this bench did not make.*empty scratch database"):
        bench_tracking().refuse_a_real_database()
