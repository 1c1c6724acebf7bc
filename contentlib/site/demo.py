"""The crawled demo: serve fixtures/demo_site/public locally, crawl it into the library, moderate some.

Project level (it uses crawlers and contentlib together), so it lives in contentlib.site.
"""
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.db import transaction

from contentlib import corpus, services
from contentlib.models import Article, Category, ModerationEvent, Source

DEMO_SITE_DIR = settings.BASE_DIR / "fixtures" / "demo_site" / "public"
DEMO_SITE_SLUG = "demo-site"
# The committed pages carry canonical links on this address (fixtures/demo_site/build.py --base-url).
DEMO_SITE_HOST, DEMO_SITE_PORT = "127.0.0.1", 8001
# Our own local site: no need to wait a second between pages as with a stranger's server.
DEMO_CRAWL_ENV = {"CRAWL_DOWNLOAD_DELAY": "0.05", "CRAWL_AUTOTHROTTLE_MAX_DELAY": "1", "CRAWL_RETRY_BACKOFF_SECONDS": "0.5"}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def demo_site_serve(*, port: int = DEMO_SITE_PORT) -> ThreadingHTTPServer:
    """Serves the static demo website on 127.0.0.1 from a daemon thread; returns the running server."""
    if not (DEMO_SITE_DIR / "index.html").exists():
        raise FileNotFoundError(
            f"The demo website is missing from {DEMO_SITE_DIR}. Build it with `python fixtures/demo_site/build.py`."
        )
    handler = functools.partial(_QuietHandler, directory=str(DEMO_SITE_DIR))
    try:
        server = ThreadingHTTPServer((DEMO_SITE_HOST, port), handler)
    except OSError as error:
        raise OSError(
            f"Cannot serve the demo website on {DEMO_SITE_HOST}:{port} ({error.strerror}). Stop whatever uses "
            f"that port (an earlier `make demo`?) or set DEMO_SITE_PORT to a free one."
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-site", daemon=True).start()
    return server


def demo_source_ensure(*, base_url: str) -> Source:
    """The demo website as an untrusted site source, so editors have a queue (see `demo_moderate`)."""
    source, _ = Source.objects.update_or_create(
        slug=DEMO_SITE_SLUG,
        defaults={
            "name": "产业观察网 Industry Watch (demo website)", "kind": Source.Kind.SITE,
            "start_urls": [f"{base_url}/"], "allowed_domains": [DEMO_SITE_HOST],
            "deny_patterns": [r"/static/"], "page_limit": 500, "time_limit_seconds": 600, "trusted": False,
        },
    )
    return source


def demo_moderate(*, source: Source, approve_every: int = 4) -> int:
    """Approves three in four of the source's crawled articles (by URL order) as the system; returns how many.

    The rest stay pending for the editor's queue. Articles someone already decided on, and
    duplicates, are left alone, so a second run decides nothing twice.
    """
    approved = 0
    articles = Article.objects.filter(source=source).order_by("canonical_url", "id")
    decided = set(ModerationEvent.objects.filter(article__source=source).values_list("article_id", flat=True))
    for position, article in enumerate(articles):
        if position % approve_every == approve_every - 1 or article.id in decided:
            continue
        if article.status != Article.Status.PENDING or article.duplicate_of_id:
            continue
        with transaction.atomic():
            services.article_approve(article_id=article.id, reason="demo data")
        approved += 1
    return approved


def demo_curate(*, source: Source, label_every: int = 3) -> dict[str, int]:
    """Does what the demo's editors would have done: links each promotional article to the advertiser
    that paid for it, and labels two in three articles with the corpus's category (the rest are left
    to the classifier). Safe to run again."""
    from ads.models import Advertiser  # noqa: PLC0415 - project level: the site may import every package

    by_id = {item.id: item for item in corpus.articles()}
    counts = {"owners": 0, "labels": 0}
    categories = dict(Category.objects.values_list("slug", "id"))
    for position, article in enumerate(Article.objects.filter(source=source).order_by("canonical_url", "id")):
        item = by_id.get((article.canonical_url or "").rsplit("/", 1)[-1].removesuffix(".html"))
        if item is None:
            continue
        if item.advertiser and article.owner_id is None:
            owner = Advertiser.objects.get_or_create(name=item.advertiser)[0]
            services.article_set_owner(article_id=article.id, owner_id=owner.id)
            counts["owners"] += 1
        if position % label_every != label_every - 1 and not article.category_locked and item.category in categories:
            services.article_set_category(article_id=article.id, category_id=categories[item.category], actor=None)
            counts["labels"] += 1
    return counts


DEMO_PLANS = [
    {"slug": "monthly", "name": "VIP月卡", "name_en": "VIP monthly", "price": "30.00", "period_days": 30},
    {"slug": "yearly", "name": "VIP年卡", "name_en": "VIP yearly", "price": "298.00", "period_days": 365},
]


def demo_vip(*, source: Source, premium_every: int = 5) -> dict[str, int]:
    """The VIP plans, and one in five of the source's approved articles behind the premium wall (the
    longest ones first, as reports would be). Safe to run again."""
    from decimal import Decimal  # noqa: PLC0415

    from django.db.models.functions import Length  # noqa: PLC0415

    from payments.models import Plan  # noqa: PLC0415 - project level: the site may import every package

    for plan in DEMO_PLANS:
        Plan.objects.get_or_create(slug=plan["slug"], defaults={**plan, "price": Decimal(plan["price"])})
    approved = Article.objects.filter(source=source, status=Article.Status.APPROVED, duplicate_of__isnull=True)
    wanted = max(1, approved.count() // premium_every)
    premium = 0
    for article in approved.annotate(size=Length("text")).order_by("-size", "id")[:wanted]:
        if not article.premium:
            services.article_set_premium(article_id=article.id, premium=True, actor=None)
        premium += 1
    return {"plans": len(DEMO_PLANS), "premium": premium}


# Readers' questions written from the demo corpus's articles, with how often each was asked (for
# "popular questions"): `make demo` answers them, so a new user has questions to browse.
DEMO_QUESTIONS = [
    ("冷链物流为什么会断链？", 5),
    ("生物药冷链运输怎么做温控？", 3),
    ("跨境电商卖家怎么选海外仓还是专线？", 4),
    ("电动重卡跑干线物流划算吗？", 2),
    ("工业视觉质检最难的是什么？", 3),
    ("大模型私有化部署要准备多少算力？", 4),
    ("怎么降低AI推理成本？", 2),
    ("第一次做特装展位要注意哪些节点？", 3),
    ("展会收到的名片线索怎么跟进转化？", 2),
    ("供应链金融怎么覆盖到三级供应商？", 2),
    ("第二类医疗器械注册要多久？", 3),
    ("注塑车间怎么节能？", 2),
    ("数控机床智能化改造怎么算账？", 1),
    ("医药冷链运输怎么做温度监测？", 3),
    ("How fast should trade show leads be followed up?", 2),
    ("How do parcel lockers reduce failed deliveries?", 1),
    ("What do MLOps teams monitor after a model goes live?", 1),
]


def demo_questions(*, questions=DEMO_QUESTIONS) -> dict[str, int]:
    """Asks and answers the demo's questions as readers would (the answer written now, its question
    then reviewed for publication); safe to run again, a repeat adds no asks."""
    from recommender.answers.services import answer_for_reader  # noqa: PLC0415 - project level
    from recommender.text import detect_language  # noqa: PLC0415

    from contentlib.models import Question  # noqa: PLC0415

    counts = {"asked": 0, "published": 0}
    for text, asks in questions:
        question = services.question_get_or_create(text=text, language=detect_language(text))
        if question.asked_count < asks:
            Question.objects.filter(id=question.id).update(asked_count=asks)
        answer_for_reader(question_id=question.id)
        question.refresh_from_db()
        counts["asked"] += 1
        counts["published"] += question.status == Question.Status.PUBLISHED
    return counts
