"""The readers' Q&A pages in a real browser (Playwright driving Debian's headless Chromium) against
`runserver` with DEBUG=0 on this test database: a question page whose citations lead to their
reference cards and on to the article; axe-core finds no critical or serious accessibility
violation; a reader asks a new question and watches the answer arrive, streamed by a model (a local
server speaking the OpenAI protocol) through a real Celery worker on Redis; and at 375 pixels wide
nothing overflows. No Content-Security-Policy violation anywhere. Screenshots go to
var/screenshots/qa/."""
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from contentlib import services
from contentlib.models import Question, Source
from recommender.answers.services import answer_for_reader
from tests.recommender.answers.llm_server import ChatServer, Reply
from tests.site.test_browser import browser, site_server  # noqa: F401 - fixtures

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "qa")
ROBOTS = ("某电商仓库去年引入四十台仓储机器人，专门负责夜间补货和拣货搬运。\n"
          "按节省的人工成本测算，这批仓储机器人大约两年半就能回本。\n"
          "仓库经理说，机器人回本周期的关键是每天的订单量是否足够多。")
COLD = ("生物药冷链运输需要全程温控，冷藏车的温度数据实时上传到监控平台。\n"
        "一旦温度超出两到八度的范围，系统会立即通知司机和质量负责人。\n"
        "冷链物流企业也在用保温箱和蓄冷剂降低断链风险。")
LOCKERS = ("快递柜和驿站让末端配送的失败率明显下降，一个试点城市的二次派送减少了三分之二。\n"
           "快递员说，投递到快递柜比逐户敲门节省了大量时间。")
EXPO = ("展会结束后的七十二小时是跟进线索的黄金时间，销售团队应当在当天整理名片。\n"
        "第二天按意向分级发送资料，第三天安排电话回访，成交率明显高于一周后才联系的线索。\n"
        "一家展览公司的数据显示，三天内跟进的线索成交率是一周后跟进的三倍。")
QUESTIONS = ["仓储机器人多久能回本？", "仓储机器人的投资回本周期是多久", "生物药冷链运输的温度怎么监控？"]
NEW_QUESTION = "冷链运输的温度超标了怎么办？"
SERIOUS = ("critical", "serious")
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1;
  }).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


@pytest.fixture
def qa_library(transactional_db):
    """Three published articles from a source that allows full text, and three answered, published questions.

    Enriched and indexed inline (eager), before any worker starts: a worker purges its queues."""
    from contentlib.config.celery import app as celery_app

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        return _qa_library()
    finally:
        celery_app.conf.task_always_eager = eager


def _qa_library():
    source = Source.objects.create(name="产业观察网", slug="watch", kind=Source.Kind.SITE, full_text_allowed=True)
    articles = {}
    for n, (title, text) in enumerate([("仓储机器人的投资回报", ROBOTS), ("冷链物流的温控方案", COLD),
                                       ("快递柜试点：末端配送失败率下降", LOCKERS)]):
        article = services.article_upsert(title=title, text=text, origin="crawled", source_id=source.id,
                                          canonical_url=f"https://watch.example/a/{n}").article
        services.article_approve(article_id=article.id, reason="test data")
        articles[title] = article
    # A crawled article from a source that does not allow full text: its page shows an excerpt.
    excerpted = Source.objects.create(name="会展资讯网", slug="expo", kind=Source.Kind.SITE)
    article = services.article_upsert(title="展会线索的七十二小时跟进法", text=EXPO, origin="crawled",
                                      source_id=excerpted.id, url="https://expo.example/leads",
                                      canonical_url="https://expo.example/leads").article
    services.article_approve(article_id=article.id, reason="test data")
    articles["展会线索的七十二小时跟进法"] = article
    questions = []
    for text in QUESTIONS:
        question = services.question_get_or_create(text=text, language="zh")
        answer_for_reader(question_id=question.id)
        questions.append(Question.objects.get(id=question.id))
    assert all(q.status == Question.Status.PUBLISHED for q in questions)
    return {"articles": articles, "questions": questions}


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _watch_csp(page) -> list[str]:
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    return refused


def _serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v.get("impact") in SERIOUS]


def test_a_question_page_leads_from_its_citations_to_references_and_is_accessible(qa_library, tmp_path, browser,
                                                                                 screenshots):
    from axe_playwright_python.sync_playwright import Axe

    question = qa_library["questions"][0]
    robots = qa_library["articles"]["仓储机器人的投资回报"]
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        refused = _watch_csp(page)
        page.goto(f"{base}/q/{question.slug}")
        assert page.inner_text("h1") == question.text
        assert "AI 生成，请核实" in page.inner_text(".answer") and "两年半" in page.inner_text(".answer-text")
        related = page.inner_text(".related-questions")
        assert QUESTIONS[1] in related
        page.screenshot(path=screenshots / "01-question.png", full_page=True)

        page.click("a.cite >> nth=0")
        assert page.url.endswith("#ref-1")
        card = page.locator("#ref-1")
        assert card.evaluate("e => e.matches(':target')") and robots.title in card.inner_text()
        assert "产业观察网" in card.inner_text()
        page.screenshot(path=screenshots / "02-citation-followed.png")
        card.locator("a").click()
        page.wait_for_url(f"{base}/articles/{robots.id}/")
        assert "两年半" in page.inner_text("main")
        page.screenshot(path=screenshots / "03-reference-article.png", full_page=True)

        page.goto(f"{base}/q/{question.slug}")
        page.click("details.report summary")
        page.fill("textarea[name=note]", "回本周期应为三年")
        page.screenshot(path=screenshots / "04-report-open.png", full_page=True)
        page.click("details.report button[type=submit]")
        page.wait_for_url(f"{base}/q/{question.slug}#report")
        assert "谢谢" in page.inner_text("main")

        violations = {}
        for name, url in (("question", f"{base}/q/{question.slug}"), ("home", f"{base}/"), ("ask", f"{base}/ask/"),
                          ("article", f"{base}/articles/{robots.id}/")):
            page.goto(url)
            violations[name] = _serious(Axe().run(page))
        english = context.new_page()
        english.goto(f"{base}/q/{question.slug}")
        english.click("footer button[value=en]")
        english.wait_for_url(f"{base}/q/{question.slug}")
        assert "AI-generated, please verify" in english.inner_text(".answer")
        english.screenshot(path=screenshots / "05-question-english.png", full_page=True)
        context.close()
    assert violations == {"question": [], "home": [], "ask": [], "article": []}, violations
    assert refused == [], refused


def test_a_reader_asks_and_watches_the_streamed_answer_arrive(qa_library, celery_worker_on_redis, tmp_path, browser,
                                                             screenshots, settings):
    chat = ChatServer()
    # The model writes slowly: the waiting page shows the text so far, then the page opens.
    chat.replies.append(Reply(pieces=["温度超出两到八度的范围时，", "系统会立即通知司机和质量负责人", "[1]。"],
                              piece_delay=2.0))
    model = {"LLM_PROVIDER": "openai", "LLM_BASE_URL": chat.url, "LLM_MODEL": "test-model", "LLM_MAX_RETRIES": "0"}
    # The worker (this process) and the site (runserver) share the answer's partial text through Redis.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.CELERY_BROKER_URL, "KEY_PREFIX": "contentlib"}}
    settings.LLM_PROVIDER, settings.LLM_BASE_URL, settings.LLM_MODEL = "openai", chat.url, "test-model"
    settings.LLM_MAX_RETRIES = 0
    try:
        with site_server(tmp_path, CACHE_URL=settings.CELERY_BROKER_URL, **model) as base:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            page = context.new_page()
            refused = _watch_csp(page)
            page.goto(f"{base}/")
            page.fill("#home-q", NEW_QUESTION)
            page.screenshot(path=screenshots / "06-home-asking.png", full_page=True)
            page.click("form.ask-box button[type=submit]")
            page.wait_for_url("**/wait")
            page.wait_for_function(
                "() => document.getElementById('answer-partial').textContent.includes('温度超出两到八度的范围时')",
                timeout=60_000)
            partial = page.inner_text("#answer-partial")
            assert "[1]" not in partial  # not all of it yet: the model is still writing
            page.screenshot(path=screenshots / "07-answer-streaming.png", full_page=True)
            page.wait_for_url("**/q/**", timeout=60_000)
            assert page.inner_text("h1") == NEW_QUESTION
            assert "系统会立即通知司机和质量负责人" in page.inner_text(".answer-text")
            assert page.locator("a.cite").count() == 1 and "冷链物流的温控方案" in page.inner_text("#ref-1")
            page.screenshot(path=screenshots / "08-answer-arrived.png", full_page=True)
            context.close()
    finally:
        chat.close()
    assert refused == [], refused
    assert len(chat.requests) == 1  # one answer written, by the worker


def test_at_375_pixels_nothing_overflows(qa_library, tmp_path, browser, screenshots):
    question = qa_library["questions"][0]
    robots = qa_library["articles"]["仓储机器人的投资回报"]
    pages = {"home": "/", "question": f"/q/{question.slug}", "ask": "/ask/", "article": f"/articles/{robots.id}/",
             "search": "/search/?q=仓储机器人", "articles": "/articles/",
             "excerpt": f"/articles/{qa_library['articles']['展会线索的七十二小时跟进法'].id}/"}
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812}, is_mobile=True,
                                      device_scale_factor=2)
        page = context.new_page()
        refused = _watch_csp(page)
        overflowing = {}
        for n, (name, path) in enumerate(pages.items(), start=9):
            page.goto(base + path)
            if name == "excerpt":  # the source's rule: the opening paragraph and a link to the original
                assert "第二天按意向分级" not in page.inner_text("main")
                assert page.is_visible("aside.excerpt-note a[href='https://expo.example/leads']")
            measured = page.evaluate(OVERFLOW_JS)
            if measured["scroll"] > measured["width"] or measured["wide"]:
                overflowing[name] = measured
            page.screenshot(path=screenshots / f"{n:02d}-375-{name}.png", full_page=True)
        context.close()
    assert overflowing == {}, overflowing
    assert refused == [], refused
