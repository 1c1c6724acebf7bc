"""CPU time of the NUL-in-address check (contentlib.site.middleware.NulInAddressMiddleware) per request.

    LOCAL_SECRET_KEY=1 .venv/bin/python bench/nul_in_address.py

Runs the middleware alone (the view replaced by a no-op) over requests whose query strings are
already parsed, as every view that reads request.GET parses them anyway: what the check adds to a
request, in CPU time (load-insensitive), the best and worst of five runs of 20,000 requests.
"""
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

import django  # noqa: E402

django.setup()

from django.test import RequestFactory  # noqa: E402

from contentlib.site.middleware import NulInAddressMiddleware  # noqa: E402

CASES = [("no query string", ""), ("3 parameters", "a=1&b=2&q=%E4%BB%93%E5%82%A8"),
         ("a 500-character q", "q=" + "x" * 500), ("20 parameters", "&".join(f"p{i}={i}" for i in range(20)))]


def main() -> None:
    check = NulInAddressMiddleware(lambda request: None)
    factory = RequestFactory()
    for label, query in CASES:
        runs = []
        for _ in range(5):
            requests = [factory.get("/search/?" + query) for _ in range(20_000)]
            for request in requests:
                request.GET  # noqa: B018 - parsed beforehand
            start = time.process_time()
            for request in requests:
                check(request)
            runs.append((time.process_time() - start) / len(requests) * 1e6)
        print(f"{label:>20}: {min(runs):.2f}–{max(runs):.2f} µs CPU per request")


if __name__ == "__main__":
    main()
