"""What one widget request costs: GET /api/v1/recommendations?q=…&answer=…&placement=… in process
(Django's test client, one thread, DEBUG=0), with a new answer text each time (the host's answer
embedded: one e5 encode) against the same answer text again (its vector read from the cache by the
text's hash), and the encode alone. Prints p50 and p99 in milliseconds.

    .venv/bin/python bench/widget_request.py [--requests 40] [--database-url postgres://…/scratch]

It loads the fixture corpus and the demo questions into a scratch database as bench/qa_page.py does
and adds one widget placement (no campaigns: the auction runs on an empty book, so the sponsored part
here costs the placement read, the traffic check and an empty auction; the served impressions'
cost is bench/tracking.py's)."""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.qa_page import prepare  # noqa: E402

QUESTION = "冷链物流为什么会断链？"
ANSWER = "冷链断链多发生在仓库与车辆交接时，温度记录仪实时上传数据可以尽早发现问题。"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="widget-bench-"))
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "HTTPS"):
        os.environ.pop(name, None)
    prepare({"DATABASE_URL": args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}",
             "DATA_DIR": str(scratch / "data"), "DEBUG": "0", "LOCAL_SECRET_KEY": "1",
             "ALLOWED_HOSTS": "testserver", "ANSWER_NO_ANSWER_TTL_HOURS": "24",
             "API_RATE_LIMIT_PER_MINUTE": "0", "WIDGET_RATE_LIMIT_PER_MINUTE": "0"})
    from django.test import Client  # noqa: PLC0415

    from ads.models import Placement  # noqa: PLC0415
    from recommender.embeddings import encode_query  # noqa: PLC0415

    Placement.objects.get_or_create(slug="bench-host", defaults={"kind": Placement.Kind.WIDGET,
                                                                 "allowed_domains": ["host.example"]})
    client = Client(HTTP_ORIGIN="https://host.example", HTTP_USER_AGENT="Mozilla/5.0 Chrome/140.0 Safari/537.36")

    def get(answer: str) -> float:
        started = time.perf_counter()
        response = client.get("/api/v1/recommendations", {"q": QUESTION, "answer": answer, "placement": "bench-host"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and "sponsored" in response.json(), response.content[:300]
        return elapsed

    get(ANSWER)  # warm: the model, the index, the book
    new = [get(f"{ANSWER}（第{n}次）") for n in range(args.requests)]
    cached = [get(ANSWER) for _ in range(args.requests)]
    encodes = []
    for n in range(args.requests):
        started = time.perf_counter()
        encode_query(f"{ANSWER}（编码{n}）")
        encodes.append(time.perf_counter() - started)
    print(f"{'request':<44}{'p50 ms':>10}{'p99 ms':>10}")
    for label, samples in (("new answer text (embedded)", new), ("same answer text (vector cached)", cached),
                           ("encode_query alone", encodes)):
        p50, p99 = percentiles(samples)
        print(f"{label:<44}{p50:>10.1f}{p99:>10.1f}")
    print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} requests each")


if __name__ == "__main__":
    main()
