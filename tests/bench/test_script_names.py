"""A benchmark script runs with bench/ first on sys.path, so a script named like a package it imports
hides that package (bench/click.py once hid the `click` that celery imports, and bench/tracking.py died)."""
import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_no_benchmark_script_shadows_an_installed_module():
    shadowing = sorted(script.name for script in BENCH.glob("*.py") if importlib.util.find_spec(script.stem) is not None)
    assert shadowing == [], f"rename these bench scripts, each hides the installed module of its name: {shadowing}"
