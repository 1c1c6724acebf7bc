"""Keyword and category quality on the demo corpus, against the editors' labels in fixtures/corpus.

Keywords: precision@5 and recall@10 of ours and of jieba.analyse.extract_tags (topK=10) on the same
title + text, a prediction counting when it equals an editor keyword after normalization.
Categories: accuracy by stratified 5-fold cross-validation of the classifier over stored tokens,
and of the description fallback (no training) on the same articles.

Run: .venv/bin/python bench/enrich_quality.py
"""
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
import django  # noqa: E402

django.setup()

import jieba  # noqa: E402
import jieba.analyse  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from contentlib import corpus  # noqa: E402
from contentlib.text import normalize_text  # noqa: E402
from recommender import categories, embeddings, keywords  # noqa: E402
from recommender.text import tokenize  # noqa: E402


def precision_recall(predicted: list[str], gold: list[str]) -> tuple[float, float]:
    gold_set = {normalize_text(g) for g in gold}
    predicted = [normalize_text(p) for p in predicted]
    return (sum(p in gold_set for p in predicted[:5]) / 5, sum(g in predicted[:10] for g in gold_set) / len(gold_set))


def main() -> None:
    jieba.setLogLevel(logging.WARNING)
    console = Console()
    articles = corpus.articles()
    keywords.fit_idf([sorted(set(keywords.candidates(f"{a.title}\n{a.body}"))) for a in articles])

    rows = {"ours (tf-idf + mmr)": {"zh": [], "en": []}, "jieba.analyse.extract_tags": {"zh": [], "en": []}}
    for a in articles:
        # As enrichment does: embedding similarity for English MMR, lexical overlap for Chinese.
        embed = embeddings.sentence_encoder().encode if a.lang == "en" else None
        ours, _ = keywords.extract(title=a.title, text=a.body, language=a.lang, embed=embed)
        rows["ours (tf-idf + mmr)"][a.lang].append(precision_recall([k.text for k in ours], a.keywords))
        theirs = jieba.analyse.extract_tags(f"{a.title}\n{a.body}", topK=10)
        rows["jieba.analyse.extract_tags"][a.lang].append(precision_recall(theirs, a.keywords))

    table = Table(title=f"Keywords on {len(articles)} corpus articles (editor keywords as truth)")
    for column in ("method", "P@5 all", "R@10 all", "P@5 zh", "R@10 zh", "P@5 en", "R@10 en"):
        table.add_column(column, justify="right" if column != "method" else "left")
    for method, by_lang in rows.items():
        every = by_lang["zh"] + by_lang["en"]
        cells = [np.mean([p for p, _ in every]), np.mean([r for _, r in every])]
        for lang in ("zh", "en"):
            cells += [np.mean([p for p, _ in by_lang[lang]]), np.mean([r for _, r in by_lang[lang]])]
        table.add_row(method, *[f"{c:.3f}" for c in cells])
    console.print(table)

    texts = [" ".join(tokenize(f"{a.title}\n{a.body}")) for a in articles]
    labels = np.array([a.category for a in articles])
    descriptions = {c["slug"]: " ".join(tokenize(f"{c['name']} {c['description']}")) for c in corpus.categories()}
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(texts, labels))
    scores = []
    for train, test in folds:
        model = categories.build_classifier().fit(
            *categories.with_descriptions([texts[i] for i in train], list(labels[train]), descriptions))
        scores.append(np.mean(model.predict([texts[i] for i in test]) == labels[test]))
    scores = np.array(scores)
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    slugs = list(descriptions)
    vectorizer = TfidfVectorizer(analyzer=str.split, sublinear_tf=True)
    matrix = vectorizer.fit_transform([descriptions[s] for s in slugs])
    guessed = [slugs[int(np.argmax((matrix @ vectorizer.transform([t]).T).toarray()))] for t in texts]
    fallback = np.mean([g == label for g, label in zip(guessed, labels)])

    table = Table(title="Categories")
    table.add_column("method")
    table.add_column("accuracy", justify="right")
    table.add_row("classifier, 5-fold CV (mean ± sd)", f"{scores.mean():.3f} ± {scores.std():.3f}")
    table.add_row("description fallback (no training)", f"{fallback:.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
