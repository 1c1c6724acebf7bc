"""Categories: a scikit-learn classifier over stored tokens once editors have labelled enough
articles per category; until then, the category whose description is lexically closest."""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline

from contentlib.models import Article, Category
from recommender import fitted
from recommender.text import tokenize

MODEL_NAME = "category-classifier"
# Measured on the demo corpus (bench/enrich_quality.py): at 8 labelled articles per category the
# classifier (0.85 by 5-fold CV) is still below the description fallback (0.95), so it waits for
# more labels than that before it takes over.
MIN_PER_CATEGORY = 20
DESCRIPTION_WEIGHT = 3  # each category description joins the training set as this many documents


@dataclass(frozen=True)
class CategoryGuess:
    category_id: int
    confidence: float
    method: str


def _split(tokens: str) -> list[str]:
    return tokens.split()


def build_classifier():
    # Complement naive Bayes measured best on few, short, bilingual examples (bench/enrich_quality.py).
    return make_pipeline(TfidfVectorizer(analyzer=_split, sublinear_tf=True), ComplementNB(alpha=0.3))


def with_descriptions(texts: list[str], labels: list, descriptions: dict) -> tuple[list[str], list]:
    """Adds each category's description as training documents, so rare categories keep a voice."""
    texts, labels = list(texts), list(labels)
    for label, description in descriptions.items():
        texts += [description] * DESCRIPTION_WEIGHT
        labels += [label] * DESCRIPTION_WEIGHT
    return texts, labels


def training_set() -> tuple[list[str], list[int]]:
    """Editor-labelled (locked) categories over enriched tokens: the classifier's ground truth."""
    rows = Article.objects.filter(category_locked=True, category__isnull=False).exclude(tokens="")
    pairs = list(rows.values_list("tokens", "category_id"))
    return [t for t, _ in pairs], [c for _, c in pairs]


def fit() -> dict:
    """Trains on labelled articles when at least two categories have enough; saves and reports."""
    texts, labels = training_set()
    counts = {c: labels.count(c) for c in set(labels)}
    eligible = {c for c, n in counts.items() if n >= MIN_PER_CATEGORY}
    if len(eligible) < 2:
        fitted.delete(MODEL_NAME)
        return {"trained": False, "labelled": len(labels), "categories": counts}
    keep = [i for i, c in enumerate(labels) if c in eligible]
    descriptions = {
        c.id: " ".join(tokenize(f"{c.name} {c.description}")) for c in Category.objects.filter(id__in=eligible)
    }
    model = build_classifier().fit(*with_descriptions([texts[i] for i in keep], [labels[i] for i in keep], descriptions))
    fitted.save(MODEL_NAME, model)
    return {"trained": True, "labelled": len(keep), "categories": {c: counts[c] for c in eligible}}


@lru_cache(maxsize=4)
def _description_index(rows: tuple[tuple[int, str, str], ...]):
    vectorizer = TfidfVectorizer(analyzer=_split, sublinear_tf=True)
    matrix = vectorizer.fit_transform([" ".join(tokenize(f"{name} {description}")) for _, name, description in rows])
    return vectorizer, matrix


def category_rows() -> tuple[tuple[int, str, str], ...]:
    """(id, name, description) of every category: read once per enrichment batch."""
    return tuple(Category.objects.order_by("id").values_list("id", "name", "description"))


def _by_description(tokens: list[str], rows: tuple[tuple[int, str, str], ...]) -> CategoryGuess | None:
    rows = tuple(row for row in rows if row[2])
    if not rows or not tokens:
        return None
    vectorizer, matrix = _description_index(rows)
    scores = (matrix @ vectorizer.transform([" ".join(tokens)]).T).toarray().ravel()
    if scores.max() <= 0:
        return None
    # A softmax over similarities turns them into a confidence; the temperature spreads the typical
    # 0.0-0.3 cosine range.
    weights = np.exp((scores - scores.max()) / 0.05)
    best = int(np.argmax(scores))
    return CategoryGuess(rows[best][0], float(weights[best] / weights.sum()), "description")


def classify(tokens: list[str], rows: tuple[tuple[int, str, str], ...] | None = None) -> CategoryGuess | None:
    """The article's category from its tokens; `rows` (from `category_rows`) saves a query per call."""
    rows = category_rows() if rows is None else rows
    model = fitted.load(MODEL_NAME)
    if model is not None and tokens:
        probabilities = model.predict_proba([" ".join(tokens)])[0]
        best = int(np.argmax(probabilities))
        category_id = int(model.classes_[best])
        if any(row[0] == category_id for row in rows):
            return CategoryGuess(category_id, float(probabilities[best]), "classifier")
    return _by_description(tokens, rows)
