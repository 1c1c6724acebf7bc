"""The judged set of sponsored relevance (fixtures/sponsored, format in docs/SPONSORED_RELEVANCE.md):
its campaigns, promoted articles and judged questions, and the fixed dev/test split of the questions.

The split is made once, deterministically, and committed in `sponsored_split.json` before any floor
or weight was tuned: within each (language, question type) stratum the questions are ordered by a
hash of their id and dealt alternately to dev and test (as recommender.search.split deals the
search queries).
"""
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from django.conf import settings

from contentlib import corpus
from recommender.search.split import split_make

if TYPE_CHECKING:
    import numpy as np

    from ads.auction import CampaignBook

SPONSORED_DIR = settings.BASE_DIR / "fixtures" / "sponsored"
SPLIT_FILE = Path(__file__).with_name("sponsored_split.json")
TYPES = ("fit", "no_fit", "keyword_trap")


@dataclass(frozen=True)
class JudgedKeyword:
    text: str
    match: str
    bid: str | None = None


@dataclass(frozen=True)
class JudgedCampaign:
    id: str
    advertiser: str
    name: str
    pricing: str
    bid: str
    daily_budget: str
    language: str  # zh | en | any
    categories: list[str]
    promotes: list[str]
    keywords: list[JudgedKeyword]
    negatives: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JudgedQuestion:
    id: str
    lang: str
    question: str
    type: str
    fits: dict[str, int]
    note: str = ""


@dataclass
class JudgedSet:
    campaigns: list[JudgedCampaign]
    questions: list[JudgedQuestion]
    articles: dict[str, corpus.CorpusArticle]  # every promoted article, by id


def campaigns_read(path: Path) -> list[JudgedCampaign]:
    out = []
    for row in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []:
        out.append(JudgedCampaign(
            id=str(row["id"]), advertiser=str(row["advertiser"]), name=str(row["name"]), pricing=row["pricing"],
            bid=str(row["bid"]), daily_budget=str(row.get("daily_budget") or "1000.00"),
            language=str(row.get("language") or "any"), categories=[str(c) for c in row.get("categories") or []],
            promotes=[str(a) for a in row["promotes"]],
            keywords=[JudgedKeyword(text=str(k["text"]), match=k.get("match", "phrase"),
                                    bid=str(k["bid"]) if k.get("bid") else None) for k in row.get("keywords") or []],
            negatives=[str(n) for n in row.get("negatives") or []],
        ))
    return out


def questions_read(path: Path) -> list[JudgedQuestion]:
    out = []
    for row in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []:
        if row["type"] not in TYPES:
            raise ValueError(f"{path}: question {row['id']} has type {row['type']!r}; use one of {', '.join(TYPES)}")
        out.append(JudgedQuestion(id=str(row["id"]), lang=row["lang"], question=str(row["question"]), type=row["type"],
                                  fits={str(k): int(v) for k, v in (row.get("fits") or {}).items()},
                                  note=str(row.get("note") or "")))
    return out


def judged_set(directory: Path = SPONSORED_DIR, *, questions: Path | None = None) -> JudgedSet:
    """The campaigns and questions of `directory` (or the questions of another file), with the
    promoted articles from its articles/ folder and the demo corpus."""
    campaigns = campaigns_read(Path(directory) / "campaigns.yaml")
    judged = questions_read(questions or Path(directory) / "questions.yaml")
    articles = {a.id: a for a in corpus.articles()}
    articles.update({a.id: a for a in corpus.articles(Path(directory))})
    wanted = {a for c in campaigns for a in c.promotes}
    missing = sorted(wanted - articles.keys())
    if missing:
        raise ValueError(f"Promoted articles not found in {directory}/articles or the corpus: {', '.join(missing)}")
    return JudgedSet(campaigns=campaigns, questions=judged, articles={i: articles[i] for i in sorted(wanted)})


def split_from_questions(questions: list[JudgedQuestion]) -> dict[str, list[str]]:
    strata: dict[tuple[str, str], list[str]] = {}
    for q in questions:
        strata.setdefault((q.lang, q.type), []).append(q.id)
    return split_make(strata)


def split_load() -> dict[str, list[str]]:
    return json.loads(SPLIT_FILE.read_text(encoding="utf-8"))


def questions_of(questions: list[JudgedQuestion], half: str) -> list[JudgedQuestion]:
    """The questions of the committed "dev" or "test" half; "all" for every one. A set from elsewhere
    (`--judgments`), whose ids the split does not know, is all test."""
    if half == "all":
        return questions
    split = split_load()
    known = set(split["dev"]) | set(split["test"])
    if not any(q.id in known for q in questions):
        return questions if half == "test" else []
    return [q for q in questions if q.id in set(split[half])]


# --- the evaluation: the judged set's campaigns in an in-memory book, questions answered ----------

@dataclass
class Case:
    """One judged question as the auction sees it: answered by the extractive provider over the
    fixture library, with the question's vector and the answer's derived vector."""

    question: JudgedQuestion
    vector: "np.ndarray"
    answer_text: str
    answer_vector: "np.ndarray | None"
    cited: list[int]
    category_ids: set[int]  # of the cited references: not given to the auction (docs/SPONSORED_RELEVANCE.md)


@dataclass
class Setup:
    book: "CampaignBook"
    cases: dict[str, Case]
    article_ids: dict[int, str]  # book article id -> judged article id
    campaign_ids: dict[int, str]  # book campaign id -> judged campaign id
    judged: JudgedSet


def setup_build(judged: JudgedSet, progress=lambda _: None) -> Setup:
    """The judged campaigns in a CampaignBook (promoted articles embedded as enrichment embeds them,
    every campaign active and funded), and every question answered as `answer_question` answers it."""
    import datetime as dt  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from ads.auction import BookCampaign, CampaignBook, CampaignState, Promoted, library_freqs  # noqa: PLC0415
    from ads.matching import KeywordRule  # noqa: PLC0415
    from recommender.answers import extractive  # noqa: PLC0415
    from recommender.answers.quality import fixture_library, references_of  # noqa: PLC0415
    from recommender.answers.services import answer_nothing_fits, derived_vector  # noqa: PLC0415
    from recommender.embeddings import article_passage  # noqa: PLC0415
    from recommender.search import relevance  # noqa: PLC0415
    from recommender.text import segmenter, tokenize  # noqa: PLC0415

    library = fixture_library()
    index = library.index
    progress("fixture library ready")
    by_corpus_id = {cid: doc_id for doc_id, cid in index.doc_ids.items()}
    doc_categories = {doc.id: doc.category for _, doc, _ in relevance.fixture_documents()}
    slugs = sorted({c["slug"] for c in corpus.categories()} | {c for cam in judged.campaigns for c in cam.categories}
                   | {a.category for a in judged.articles.values()})
    category_id = {slug: n for n, slug in enumerate(slugs, start=1)}
    article_id, next_id = {}, max(index.doc_ids, default=0) + 1000
    for aid in judged.articles:
        if aid in by_corpus_id:
            article_id[aid] = by_corpus_id[aid]
        else:
            article_id[aid], next_id = next_id, next_id + 1
    ordered = sorted(judged.articles)
    passages = [article_passage(title=judged.articles[a].title, summary="", text="\n".join(judged.articles[a].paragraphs))
                for a in ordered]
    vectors = np.asarray(relevance._encode_cached(index.model, passages, "sponsored-articles"), dtype=np.float32)
    row_of = {a: n for n, a in enumerate(ordered)}
    # Stored tokens as enrichment makes them: the title and text, segmented.
    tokens = {a: frozenset(tokenize(f"{judged.articles[a].title}\n{judged.articles[a].body}")) for a in ordered}
    progress("promoted articles embedded")
    advertisers = {name: n for n, name in enumerate(sorted({c.advertiser for c in judged.campaigns}), start=1)}
    campaigns, rules, keyword_id = [], [], 0
    for number, c in enumerate(judged.campaigns, start=1):
        state = CampaignState(status="active", advertiser_status="active", balance=Decimal("1000000.00"),
                              max_bid=Decimal(c.bid), daily_budget=Decimal(c.daily_budget),
                              total_budget=Decimal("1000000.00"), start_date=dt.date(2000, 1, 1), end_date=None,
                              hours=frozenset(), languages=frozenset() if c.language == "any" else frozenset({c.language}))
        campaigns.append(BookCampaign(
            id=number, name=c.name, advertiser_id=advertisers[c.advertiser], advertiser_name=c.advertiser,
            pricing=c.pricing, category_ids=frozenset(category_id[s] for s in c.categories),
            promotions=[Promoted(number * 100 + i, article_id[a], judged.articles[a].title, row_of[a], tokens[a])
                        for i, a in enumerate(c.promotes)], state=state))
        for k in c.keywords:
            keyword_id += 1
            rules.append(KeywordRule(number, keyword_id, k.text, k.match, False, Decimal(k.bid) if k.bid else None))
        for n in c.negatives:
            keyword_id += 1
            rules.append(KeywordRule(number, keyword_id, n, "phrase", True))
    # The library's document frequencies as book_build reads them from the approved articles: the
    # fixture corpus's published articles and the set's promoted articles that are not in it.
    frequencies = library_freqs(" ".join(tokenize(f"{a.title}\n{a.body}")) for a in
                            [*corpus.articles(), *(judged.articles[i] for i in ordered if i not in by_corpus_id)])
    book = CampaignBook(campaigns, rules, vectors, segmenter(), library=frequencies)
    queries = [corpus.JudgedQuery(id=q.id, lang=q.lang, query=q.question, type=q.type) for q in judged.questions]
    index.add_queries(queries)
    cases = {}
    for q in judged.questions:
        vector = index.query_vectors[q.id]
        result, _seconds = library.retrieve(q.question, vector)
        references = references_of(library, result)
        draft = extractive.compose(q.question, references, language=result.language,
                                   nothing_fits=answer_nothing_fits(result, references))
        by_id = {r.id: r for r in references}
        cases[q.id] = Case(question=q, vector=vector, answer_text="" if draft.no_answer else draft.text,
                           answer_vector=derived_vector([by_id[i].vector for i in draft.cited if i in by_id]),
                           cited=list(draft.cited),
                           category_ids={category_id[doc_categories[i]] for i in draft.cited
                                         if doc_categories.get(i) in category_id})
    progress("questions answered")
    return Setup(book=book, cases=cases, article_ids={v: k for k, v in article_id.items()},
                 campaign_ids={n: c.id for n, c in enumerate(judged.campaigns, start=1)}, judged=judged)


@dataclass
class Served:
    question: JudgedQuestion
    articles: list[str]  # judged article ids in the slots, in order


@dataclass
class Scores:
    served: list[Served] = field(default_factory=list)

    def precision(self) -> float:
        slots = [(s.question, a) for s in self.served for a in s.articles]
        return sum(q.fits.get(a, 0) >= 1 for q, a in slots) / len(slots) if slots else 1.0

    def slots(self) -> int:
        return sum(len(s.articles) for s in self.served)

    def filled(self) -> float:
        rows = [s for s in self.served if s.question.type == "fit"]
        return sum(any(s.question.fits.get(a, 0) >= 1 for a in s.articles) for s in rows) / len(rows) if rows else 0.0

    def empty(self, types: tuple[str, ...] = ("no_fit", "keyword_trap")) -> float:
        rows = [s for s in self.served if s.question.type in types]
        return sum(not s.articles for s in rows) / len(rows) if rows else 1.0

    def meets_goals(self) -> bool:
        return self.precision() >= 0.9 and self.filled() >= 0.8 and self.empty() >= 0.9


def evaluate(setup: Setup, questions: list[JudgedQuestion], *, fit=None, slots: int = 2) -> tuple[Scores, dict]:
    """The auction's slots for every question (a question page with `slots`), and the outcomes."""
    import datetime as dt  # noqa: PLC0415

    from ads.auction import Terms, auction_run  # noqa: PLC0415

    scores, outcomes = Scores(), {}
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    for q in questions:
        case = setup.cases[q.id]
        result = auction_run(setup.book, terms=Terms(slots=slots), question=q.question, answer_text=case.answer_text,
                             question_vector=case.vector, answer_vector=case.answer_vector, now=now,
                             cited_article_ids=case.cited, fit=fit)
        scores.served.append(Served(q, [setup.article_ids[s.article_id] for s in result.slots]))
        outcomes[q.id] = result
    return scores, outcomes


def baseline(judged: JudgedSet, questions: list[JudgedQuestion], *, slots: int = 2) -> Scores:
    """Keyword substring: a campaign whose keyword appears in the question (lowercased) competes
    unless a negative does; highest bid first, one slot per advertiser, its first promoted article."""
    scores = Scores()
    for q in questions:
        text = q.question.lower()
        hits = []
        for c in judged.campaigns:
            if any(n.lower() in text for n in c.negatives):
                continue
            bids = [float(k.bid or c.bid) / (1 if c.pricing == "cpc" else 1000 / 50) for k in c.keywords
                    if k.text.lower() in text]
            if bids:
                hits.append((-max(bids), c.id, c))
        chosen, seen = [], set()
        for _bid, _id, c in sorted(hits):
            if c.advertiser not in seen and len(chosen) < slots:
                seen.add(c.advertiser)
                chosen.append(c.promotes[0])
        scores.served.append(Served(q, chosen))
    return scores


# --- tuning the floor (dev half only) -------------------------------------------------------------

MARGIN = 0.02  # on dev, the goals plus this margin, for the test half


def tune(setup: Setup, questions: list[JudgedQuestion], slots: int = 2, idf: str = "library"):
    """The fit model (logistic on the candidates' two cosines, labelled by the judgments) and the
    floor that fills the most fit questions while meeting the precision and empty goals (plus
    MARGIN) on these questions (the dev half)."""
    import numpy as np  # noqa: PLC0415

    from ads.auction import FitModel  # noqa: PLC0415

    best = None
    for answer_weight, unknown_weight in [(a, u) for a in ANSWER_WEIGHTS for u in UNKNOWN_WEIGHTS]:
        # Every candidate's features (the floor at 0 lets all through; the coefficients only pick
        # which of a campaign's promoted articles is scored, and both features rise together).
        _, outcomes = evaluate(setup, questions, fit=FitModel(coef=(0.0, 1.0, 1.0), floor=0.0,
                                                              answer_weight=answer_weight,
                                                              unknown_weight=unknown_weight, idf=idf), slots=slots)
        x, y = [], []
        for q in questions:
            for o in outcomes[q.id].outcomes.values():
                if o.features is not None:  # every candidate that reached the floor
                    x.append(o.features)
                    y.append(int(q.fits.get(setup.article_ids[o.article_id], 0) >= 1))
        x, y = np.array(x, dtype=float), np.array(y)
        coef = _logistic(x, y)
        if coef[1] < 0 or coef[2] < 0:
            # Relevance must not fall as the article gets closer to the question: a negative weight
            # is refitted with that feature left out (weight 0).
            keep = 2 if coef[1] < 0 else 1
            single = _logistic(x[:, [keep - 1]], y)
            coef = (single[0], single[1], 0.0) if keep == 1 else (single[0], 0.0, single[1])
        best = _best_floor(setup, questions, coef, answer_weight, unknown_weight, idf, slots, best,
                           {"candidates": len(y), "fitting": int(y.sum())})
    return best[1], best[2], best[3]


def _logistic(x, y) -> tuple[float, ...]:
    """A balanced logistic fit on standardized features, folded back into raw-feature terms."""
    import numpy as np  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    model = LogisticRegression(C=10.0, class_weight="balanced").fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    return tuple(round(c, 6) for c in (float(model.intercept_[0] - (weights * mean).sum()), *(float(w) for w in weights)))


ANSWER_WEIGHTS = (0.0, 0.1, 0.25, 0.5)
UNKNOWN_WEIGHTS = (None, 0.0, 0.5, 1.0, 2.0)


def _best_floor(setup, questions, coef, answer_weight, unknown_weight, idf, slots, best, info):
    import numpy as np  # noqa: PLC0415

    from ads.auction import FitModel  # noqa: PLC0415

    for floor in np.round(np.arange(0.05, 0.99, 0.01), 2):
        fit = FitModel(coef=coef, floor=float(floor), answer_weight=answer_weight, unknown_weight=unknown_weight,
                       idf=idf)
        scores, _ = evaluate(setup, questions, fit=fit, slots=slots)
        meets = scores.precision() >= 0.9 + MARGIN and scores.empty() >= 0.9 + MARGIN
        # Ties go to the question alone (the smaller answer weight), then to the higher floor.
        key = (meets, round(scores.filled(), 4), round(scores.precision(), 4), -answer_weight,
               unknown_weight is None, floor)
        if best is None or key > best[0]:
            best = (key, fit, scores, info)
    return best


# --- the sponsored block on reader pages ----------------------------------------------------------

@dataclass(frozen=True)
class SponsoredCard:
    """One card as the reader sees it: 广告 / Sponsored, the advertiser, the title, its links."""

    position: int
    title: str
    advertiser_name: str
    summary: str
    click_url: str  # the signed click redirect, /c/<token>
    beacon_url: str  # the viewability beacon, /v/<token>; "" in a preview
    article_id: int | None = None  # the promoted article (the widget API lists it once, as the card)


@dataclass(frozen=True)
class SponsoredBlock:
    cards: list[SponsoredCard]
    preview: bool = False


PLACEMENT_NAMES = {"search": "Search results", "article": "Article page", "question": "Question page",
                   "home": "Home page", "article_list": "Article list", "ask_wait": "Page waiting for an answer"}


# Per process, as stale as the auction's campaign book may be (AD_AUCTION_BOOK_SECONDS): the
# placements by slug and the promoted articles' card summaries, read on every page view otherwise.
# A change saved in this process clears them at once (ads.apps: signals); others follow within the
# book's seconds.
_placements: dict[str, tuple[float, object]] = {}
_summaries: dict[int, tuple[float, str]] = {}


def block_caches_forget(**_signal) -> None:
    _placements.clear()
    _summaries.clear()


def _fresh(at: float) -> bool:
    return time.monotonic() - at < settings.AD_AUCTION_BOOK_SECONDS


def _placement(slug: str):
    from ads.models import Placement  # noqa: PLC0415

    cached = _placements.get(slug)
    if cached is not None and _fresh(cached[0]):
        return cached[1]
    placement, _ = Placement.objects.get_or_create(
        slug=slug, defaults={"kind": slug if slug in Placement.Kind.values else Placement.Kind.QUESTION,
                             "name": PLACEMENT_NAMES.get(slug, slug)})
    _placements[slug] = (time.monotonic(), placement)
    return placement


def _card_summaries(article_ids: list[int]) -> dict[int, str]:
    """The promoted articles' summaries for their cards ("" for a premium one: members' text)."""
    from contentlib.models import Article  # noqa: PLC0415

    found = {i: cached[1] for i in article_ids if (cached := _summaries.get(i)) is not None and _fresh(cached[0])}
    missing = [i for i in article_ids if i not in found]
    if missing:
        rows = dict(Article.objects.filter(id__in=missing, premium=False).values_list("id", "summary"))
        for i in missing:
            found[i] = rows.get(i) or ""
            _summaries[i] = (time.monotonic(), found[i])
    return found


def _cards(request, served, *, preview: bool) -> list[SponsoredCard]:
    from django.urls import reverse  # noqa: PLC0415

    from ads import tracking  # noqa: PLC0415
    from ads.traffic import Agent  # noqa: PLC0415

    summaries = _card_summaries([s.article_id for s in served])
    cards = []
    for s in served:
        click = tracking.click_token(impression_id=s.impression_id, served_at=s.served_at,
                                     agent=Agent(s.browser_family, s.os_family))
        beacon = "" if preview else reverse("ads:beacon", args=[tracking.beacon_token(impression_id=s.impression_id)])
        summary = summaries.get(s.article_id, "")
        cards.append(SponsoredCard(position=s.position, title=s.title, advertiser_name=s.advertiser_name,
                                   summary=summary[:120] + ("…" if len(summary) > 120 else ""),
                                   click_url=reverse("ads:click", args=[click]), beacon_url=beacon,
                                   article_id=s.article_id))
    return cards


def sponsored_block(request, *, placement: str, question: str, answer_text: str = "", question_vector=None,
                    answer_vector=None, cited_article_ids=(), category_ids=(), now=None) -> SponsoredBlock | None:
    """The sponsored cards for this request on `placement`: the auction's slots, each recorded as a
    served impression (with the request's invalid-traffic reason, ads.traffic) and given its signed
    click and beacon links. None when nothing won, or when anything failed: a reader's page never
    breaks for an ad (the failure is logged)."""
    import logging  # noqa: PLC0415

    from django.utils import timezone  # noqa: PLC0415

    from ads import events, traffic  # noqa: PLC0415
    from ads.auction import placement_auction  # noqa: PLC0415

    if not (question or "").strip():
        return None
    try:
        now = now or timezone.now()
        reason, agent = traffic.request_reason(request)
        visitor = traffic.visitor_make(request, reason=reason, agent=agent)
        where = _placement(placement)
        result = placement_auction(placement=where, question=question, answer_text=answer_text,
                                   question_vector=question_vector, answer_vector=answer_vector,
                                   reader=visitor.reader_key, now=now, cited_article_ids=list(cited_article_ids),
                                   category_ids=list(category_ids))
        served = events.impressions_serve(result=result, placement=where, visitor=visitor, now=now)
        cards = _cards(request, served, preview=False)
    except Exception:  # noqa: BLE001 - see the docstring
        logging.getLogger(__name__).exception("the sponsored block on %s failed; the page is shown without it", placement)
        return None
    return SponsoredBlock(cards) if cards else None


def sponsored_for_search(request, *, query: str, result) -> SponsoredBlock | None:
    """The search page's block: the query and its vector stand in for a question and its answer."""
    if not query or result is None:
        return None
    return sponsored_block(request, placement="search", question=query,
                           question_vector=getattr(result, "query_vector", None))


def sponsored_for_article(request, *, article) -> SponsoredBlock | None:
    """The article page's block: the article's title, summary and stored embedding; never the
    article itself (it stands as the page's reference)."""
    from recommender.embeddings import from_bytes  # noqa: PLC0415

    return sponsored_block(request, placement="article", question=article.title, answer_text=article.summary or "",
                           question_vector=from_bytes(article.embedding), cited_article_ids=[article.id])


def sponsored_for_question(request, *, question, answer) -> SponsoredBlock | None:
    """The question page's block: the question and its answer's text, their stored vectors, the
    answer's references (never sold: the citation firewall) and the references' categories. Run per
    request beside the cached answer, which it never changes; no answer (or a hidden or "no
    answer" one) leaves the question alone to match."""
    from django.conf import settings  # noqa: PLC0415
    from django.core.cache import cache  # noqa: PLC0415

    from contentlib.models import Article  # noqa: PLC0415
    from recommender.embeddings import from_bytes  # noqa: PLC0415

    shown = answer is not None and answer.status != answer.Status.HIDDEN and not answer.is_no_answer
    cited = list(answer.cited_article_ids or []) if answer is not None else []
    categories = set()
    if shown and cited:
        # The references' categories change when an editor relabels one: kept as long as the
        # campaign book may be stale.
        key = f"sponsored-categories:{answer.id}:{','.join(map(str, cited))}"
        categories = cache.get(key)
        if categories is None:
            categories = set(Article.objects.filter(id__in=cited, category__isnull=False)
                             .values_list("category_id", flat=True))
            cache.set(key, categories, settings.AD_AUCTION_BOOK_SECONDS)
    return sponsored_block(request, placement="question", question=question.text,
                           answer_text=answer.text if shown else "",
                           question_vector=from_bytes(question.vector) if question.vector else None,
                           answer_vector=from_bytes(answer.vector) if shown and answer.vector else None,
                           cited_article_ids=cited, category_ids=categories)


def sponsored_for_home(request, *, popular) -> SponsoredBlock | None:
    """The home page's block: the most asked of the popular questions the page lists that has a
    vector (its text and stored vector, as a question page without its answer would match); none
    when no listed question has one yet."""
    from recommender.embeddings import from_bytes  # noqa: PLC0415

    question = next((q for q in popular if q.vector), None)
    if question is None:
        return None
    return sponsored_block(request, placement="home", question=question.text,
                           question_vector=from_bytes(question.vector))


LIST_CONTEXT = 5  # the listed articles that stand for an article list's topic: the top of the page


def sponsored_for_article_list(request, *, articles, category=None) -> SponsoredBlock | None:
    """The article list's block: what the reader sees at the top of the list. The category filter's
    name (else the first listed title) stands as the question, the first LIST_CONTEXT titles as its
    answer, the mean of their stored embeddings as the vector, the category (when filtered) as the
    category; a listed article is never sold beside its own listing. A mixed, unfiltered list
    usually fits no ad well enough (the relevance floor), and then the block stays empty."""
    import numpy as np  # noqa: PLC0415

    from recommender.embeddings import from_bytes  # noqa: PLC0415

    top = list(articles)[:LIST_CONTEXT]
    vectors = [v for v in (from_bytes(a.embedding) for a in top) if v is not None]
    if not top or not vectors or len({len(v) for v in vectors}) != 1:
        return None
    mean = np.mean(np.vstack(vectors), axis=0)
    vector = mean / max(float(np.linalg.norm(mean)), 1e-9)
    return sponsored_block(request, placement="article_list", question=category.name if category else top[0].title,
                           answer_text="\n".join(a.title for a in top), question_vector=vector,
                           cited_article_ids=[a.id for a in articles],
                           category_ids=[category.id] if category else ())


def sponsored_for_ask_wait(request, *, question) -> SponsoredBlock | None:
    """The block of the page a reader waits on: the question being answered, with its stored vector,
    or else its vector from the query encoder the search page uses (the worker has not stored it
    yet); no answer exists yet to match."""
    from recommender.embeddings import from_bytes  # noqa: PLC0415
    from recommender.retrieval import query_vector  # noqa: PLC0415

    vector = from_bytes(question.vector) if question.vector else query_vector(question.text)
    return sponsored_block(request, placement="ask_wait", question=question.text, question_vector=vector)


def _unit_price(campaign):
    from decimal import Decimal  # noqa: PLC0415

    return campaign.max_bid if campaign.pricing == "cpc" else (campaign.max_bid / 1000).quantize(Decimal("0.0001"))


def sponsored_previews(request, *, campaign, promotions) -> SponsoredBlock | None:
    """The card of each of the campaign's promotions as a reader would see it, for the portal:
    recorded as a preview (ads.traffic's "preview"), so neither it nor a click on it is ever
    billed; its link goes where a reader's click would (the landing URL or the article's page)."""
    from ads import events, traffic  # noqa: PLC0415
    from ads.auction import AuctionResult, Slot  # noqa: PLC0415

    slots = [Slot(position=n, campaign_id=campaign.id, campaign_name=campaign.name, advertiser_id=campaign.advertiser_id,
                  advertiser_name=campaign.advertiser.name, article_id=p.article_id, promotion_id=p.id,
                  title=p.headline or p.article.title, pricing=campaign.pricing, bid=campaign.max_bid,
                  price=_unit_price(campaign), score=0.0,
                  relevance=0.0, keyword="")
             for n, p in enumerate(promotions, start=1)]
    if not slots:
        return None
    reason, agent = traffic.request_reason(request, preview=True)
    visitor = traffic.visitor_make(request, reason=reason, agent=agent)
    served = events.impressions_serve(result=AuctionResult(slots=slots), placement=_placement("question"),
                                      visitor=visitor, preview=True)
    return SponsoredBlock(_cards(request, served, preview=True), preview=True)
