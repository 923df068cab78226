"""scikit-learn on the same scores as `cargo bench --bench metrics -- run`.

usage: metrics_sklearn.py PREFIX SPOTDIFF_JSON
Times roc_auc_score, precision_recall_curve + auc (the paper's AU-PR) and
max-F1 over the PR curve, checks that the values equal spotdiff's, and prints
a Markdown table row for docs/BENCHMARKS.md.
"""

import json
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.metrics import auc, precision_recall_curve, roc_auc_score


def main():
    prefix, spotdiff_json = sys.argv[1], sys.argv[2]
    ours = json.loads(open(spotdiff_json).read())
    scores = np.fromfile(prefix + ".scores", dtype="<f4")
    labels = np.fromfile(prefix + ".labels", dtype=np.uint8)
    started = time.perf_counter()
    auroc = roc_auc_score(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)
    aupr = auc(recall, precision)
    with np.errstate(invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    max_f1 = float(f1.max())
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    differences = {
        "auroc": abs(auroc - ours["auroc"]),
        "aupr": abs(aupr - ours["aupr"]),
        "max_f1": abs(max_f1 - ours["max_f1"]),
    }
    worst = max(differences.values())
    print(
        f"| {len(scores):.0e} | {ours['seconds']:.2f} s | {ours['peak_rss_mib']:.0f} MiB "
        f"| {seconds:.2f} s | {peak_mib:.0f} MiB | {seconds / ours['seconds']:.1f}x "
        f"| {worst:.1e} | scikit-learn {sklearn.__version__}, NumPy {np.__version__} |"
    )
    if worst > 1e-9:
        sys.exit(f"results differ from scikit-learn: {differences}")


if __name__ == "__main__":
    main()
