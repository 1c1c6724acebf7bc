"""Which evidence separates a fitting promoted article from a keyword trap? Dev half of the judged
sponsored set only, cross-validated by question: a measurement for choosing the auction's fit model.

Every candidate the auction scores on the dev half (every campaign a keyword matched, the floor at
0: the candidates `manage.py sponsored_relevance --tune` fits on) gets the model's two features
(cosine, coverage) and the candidates for new ones:

- ans_cos: the cosine of the promoted article to the answer's vector (the mean of its cited
  references' stored vectors);
- ref_max: the largest cosine of the promoted article to one cited reference;
- ref_kw: the share of the promoted article's keywords that the cited references' tokens hold
  (the answer's topic: a trap's references are about something else);
- cat: whether the promoted article's category is one of the cited references' categories;
- cov_lib: coverage with the words weighted by the library's idf (the fixture corpus) instead of
  the promoted articles';
- cov_head: coverage counted in the promoted article's title and keywords only.

For each feature set, 5-fold cross-validation over the dev *questions* (stratified by type,
repeated with several seeds): the logistic model and the floor are fitted on four folds as
`ads.sponsored.tune` fits them (balanced logistic on standardized features; the floor filling the
most fit questions with precision and empty ≥ 0.92), the held-out fold is served (2 slots, bid ×
CTR × relevance, one slot per advertiser) and the three figures are pooled over the held-out folds.

    LOCAL_SECRET_KEY=1 .venv/bin/python bench/auction_features.py [--seeds 5]
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from ads import sponsored  # noqa: E402
from ads.auction import FitModel, tuned_fit  # noqa: E402
from contentlib import corpus  # noqa: E402
from recommender.answers.quality import fixture_library  # noqa: E402
from recommender.search import relevance  # noqa: E402
from recommender.text import tokenize  # noqa: E402

FEATURE_SETS = {
    "cos+cov (now)": ("cosine", "coverage"),
    "cov": ("coverage",),
    "cov+ans_cos": ("coverage", "ans_cos"),
    "cov+ref_max": ("coverage", "ref_max"),
    "cov+ref_kw": ("coverage", "ref_kw"),
    "cov+cat": ("coverage", "cat"),
    "cov_lib": ("cov_lib",),
    "cov_head": ("cov_head",),
    "cov+cov_head": ("coverage", "cov_head"),
    "cov+ref_kw+cat": ("coverage", "ref_kw", "cat"),
    "cov+ans_cos+ref_kw": ("coverage", "ans_cos", "ref_kw"),
    "cos+cov+ref_kw": ("cosine", "coverage", "ref_kw"),
}


def logistic(x, y):
    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    model = LogisticRegression(C=10.0, class_weight="balanced").fit((x - mean) / scale, y)
    w = model.coef_[0] / scale
    return float(model.intercept_[0] - (w * mean).sum()), w


def serve(cands, probability, floor, slots=2):
    """{question id: [judged article ids]}, as auction_run ranks and places the candidates."""
    out = {}
    for qid, rows in cands.items():
        ranked = sorted(((c["value"] * probability[i], c["campaign"], c) for i, c in rows
                         if probability[i] >= floor), key=lambda r: (-r[0], r[1]))
        chosen, seen = [], set()
        for _score, _id, c in ranked:
            if c["advertiser"] in seen:
                continue
            seen.add(c["advertiser"])
            if len(chosen) < slots:
                chosen.append(c["article"])
        out[qid] = chosen
    return out


def figures(questions, served):
    scores = sponsored.Scores([sponsored.Served(q, served[q.id]) for q in questions])
    return scores.precision(), scores.filled(), scores.empty(), scores.empty(("keyword_trap",)), scores.slots()


def fit_model(x, y, cols):
    b0, w = logistic(x[:, cols], y)
    if (w < 0).any():  # as tune: a negative weight is refitted out
        keep = [c for c, wi in zip(cols, w, strict=True) if wi >= 0]
        if not keep:
            keep = [cols[int(np.argmax(w))]]
        b0, w2 = logistic(x[:, keep], y)
        full = np.zeros(len(cols))
        for c, wi in zip(keep, w2, strict=True):
            full[cols.index(c)] = wi
        w = full
    return b0, w


def choose_floor(prob, cands, questions):
    best = None
    for floor in np.round(np.arange(0.05, 0.99, 0.01), 2):
        p, f, e, _t, _n = figures(questions, serve(cands, prob, floor))
        key = (p >= 0.92 and e >= 0.92, round(f, 4), round(p, 4), floor)
        if best is None or key > best[0]:
            best = (key, float(floor))
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    judged = sponsored.judged_set()
    setup = sponsored.setup_build(judged)
    dev = sponsored.questions_of(judged.questions, "dev")
    library = fixture_library()
    doc_category = {doc.id: doc.category for _, doc, _ in relevance.fixture_documents()}
    # The library's idf: every approved fixture article and the promoted ones.
    docs = [frozenset(tokenize(f"{a.title}\n{a.body}")) for a in corpus.articles()]
    n_docs = len(docs)
    df: dict[str, int] = {}
    for d in docs:
        for t in d:
            df[t] = df.get(t, 0) + 1
    unknown = tuned_fit().unknown_weight
    fit = FitModel(coef=(0.0, 1.0, 1.0), floor=0.0, unknown_weight=unknown)
    _, outcomes = sponsored.evaluate(setup, dev, fit=fit)
    seg = setup.book.matcher.seg
    rows, labels, cands = [], [], {}
    for q in dev:
        case = setup.cases[q.id]
        refs = [library.references[i] for i in case.cited if i in library.references]
        ref_tokens = set()
        for r in refs:
            ref_tokens |= set(tokenize(f"{r.title}\n{r.text}"))
        ref_vecs = [r.vector for r in refs if r.vector is not None]
        ref_cats = {doc_category.get(i) for i in case.cited}
        q_tokens = set(seg.tokens(q.question))
        lib_w = {t: np.log(1.0 + (n_docs + 1) / (df.get(t, 0) + 0.5)) for t in q_tokens}
        for o in outcomes[q.id].outcomes.values():
            if o.features is None or o.reason not in ("won", "rank", "advertiser_shown"):
                continue
            aid = setup.article_ids[o.article_id]
            art = judged.articles[aid]
            row = next(p.row for c in setup.book.campaigns.values() for p in c.promotions if p.article_id == o.article_id)
            v = setup.book.vectors[row]
            art_tokens = next(p.tokens for c in setup.book.campaigns.values() for p in c.promotions
                              if p.article_id == o.article_id)
            head = set(tokenize(art.title)) | {t for k in art.keywords for t in tokenize(k)}
            kw_tokens = [set(tokenize(k)) for k in art.keywords]
            ref_kw = (sum(bool(k) and k <= ref_tokens for k in kw_tokens) / len(kw_tokens)) if kw_tokens else 0.0
            total = sum(lib_w.values()) or 1.0
            feats = {
                "cosine": o.features[0], "coverage": o.features[1],
                "ans_cos": float(v @ case.answer_vector) if case.answer_vector is not None else 0.0,
                "ref_max": max((float(v @ r) for r in ref_vecs), default=0.0),
                "ref_kw": ref_kw,
                "cat": float(art.category in ref_cats),
                "cov_lib": sum(w for t, w in lib_w.items() if t in art_tokens) / total,
                "cov_head": sum(w for t, w in lib_w.items() if t in head) / total,
            }
            campaign = setup.book.campaigns[o.campaign_id]
            value = float(o.bid) * (1 / 50 if campaign.pricing == "cpc" else 1 / 1000)
            i = len(rows)
            rows.append([feats[k] for k in FEATURES])
            labels.append(int(q.fits.get(aid, 0) >= 1))
            cands.setdefault(q.id, []).append((i, {"campaign": o.campaign_id, "advertiser": campaign.advertiser_id,
                                                  "article": aid, "value": value, "q": q.id}))
    for q in dev:
        cands.setdefault(q.id, [])
    x, y = np.array(rows, dtype=float), np.array(labels)
    print(f"dev: {len(dev)} questions, {len(y)} eligible candidates ({y.sum()} fit)")
    print("single-feature AUC: " + ", ".join(f"{k} {roc_auc_score(y, x[:, j]):.3f}" for j, k in enumerate(FEATURES)))
    # Traps: the features of the unfitting candidates of trap questions against the fitting ones.
    qtype = {q.id: q.type for q in dev}
    cand_q = np.empty(len(y), dtype=object)
    for qid, rs in cands.items():
        for i, _c in rs:
            cand_q[i] = qid
    trap = np.array([qtype[cand_q[i]] == "keyword_trap" for i in range(len(y))])
    for j, k in enumerate(FEATURES):
        print(f"  {k:9} fit mean {x[y == 1, j].mean():.3f}  trap-candidate mean {x[trap & (y == 0), j].mean():.3f}  "
              f"other unfit {x[~trap & (y == 0), j].mean():.3f}")
    strata = np.array([q.type for q in dev])
    qids = [q.id for q in dev]
    print(f"\n5-fold CV over dev questions, {args.seeds} seeds; pooled held-out figures (mean over seeds)")
    print(f"{'features':22} {'AUC':>6} {'prec':>6} {'filled':>7} {'empty':>6} {'traps':>6} {'slots':>6}")
    for name, feats in FEATURE_SETS.items():
        cols = [FEATURES.index(f) for f in feats]
        per_seed = []
        aucs = []
        for seed in range(args.seeds):
            held_prob = np.zeros(len(y))
            served = {}
            for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(qids, strata):
                tq = [dev[i] for i in train]
                hq = [dev[i] for i in test]
                tr_idx = [i for q in tq for i, _ in cands[q.id]]
                te_idx = [i for q in hq for i, _ in cands[q.id]]
                b0, w = fit_model(x[tr_idx], y[tr_idx], cols)
                prob = 1 / (1 + np.exp(-np.clip(b0 + x[:, cols] @ w, -50, 50)))
                floor = choose_floor(prob, {q.id: cands[q.id] for q in tq}, tq)
                held_prob[te_idx] = prob[te_idx]
                served.update(serve({q.id: cands[q.id] for q in hq}, prob, floor))
            per_seed.append(figures(dev, served))
            aucs.append(roc_auc_score(y, held_prob))
        m = np.mean(per_seed, axis=0)
        print(f"{name:22} {np.mean(aucs):6.3f} {m[0]:6.3f} {m[1]:7.3f} {m[2]:6.3f} {m[3]:6.3f} {m[4]:6.1f}")
    # Fitted on all of dev, for the record.
    for name in ("cos+cov (now)", "cov+ref_kw", "cov+ans_cos", "cov+cat"):
        cols = [FEATURES.index(f) for f in FEATURE_SETS[name]]
        b0, w = fit_model(x, y, cols)
        prob = 1 / (1 + np.exp(-np.clip(b0 + x[:, cols] @ w, -50, 50)))
        floor = choose_floor(prob, cands, dev)
        p, f, e, t, n = figures(dev, serve(cands, prob, floor))
        print(f"all dev, {name}: coef {b0:.3f} {np.round(w, 3).tolist()} floor {floor}: "
              f"prec {p:.3f} filled {f:.3f} empty {e:.3f} traps {t:.3f} slots {n}")


FEATURES = ("cosine", "coverage", "ans_cos", "ref_max", "ref_kw", "cat", "cov_lib", "cov_head")

if __name__ == "__main__":
    main()
