"""Compare two scikit-learn classifiers with honest uncertainty (varkit.evaluate).

Logistic regression against a decision tree on scikit-learn's bundled breast-cancer data:
Dietterich's 5x2cv t and Alpaydin's combined 5x2cv F test, McNemar's test on one held-out
test set, cross-validated accuracy with an interval corrected for overlapping training sets
(Nadeau & Bengio 2003) and the .632+ bootstrap error rate (Efron & Tibshirani 1997).

Run: ``python examples/evaluate_models.py`` (a few seconds).
"""

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from varkit.evaluate import (
    bootstrap_632_score,
    cross_val_ci,
    five_by_two_cv,
    mcnemar,
    mcnemar_table,
)


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    tree = DecisionTreeClassifier(max_depth=4, random_state=0)
    print(f"logistic regression vs a depth-4 decision tree, breast-cancer data ({len(y)} rows)")

    print("\nAlgorithms: both refitted on the same five 2-fold splits")
    for test in five_by_two_cv(logistic, tree, X, y, random_state=0):
        print(
            f"  {test.method:17s} mean accuracy difference {test.estimate:+.4f}, "
            f"p = {test.pvalue:.3g}"
        )

    print("\nModels: fitted once, compared on the same 30% test set")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    pred_logistic = logistic.fit(X_train, y_train).predict(X_test)
    pred_tree = tree.fit(X_train, y_train).predict(X_test)
    table = mcnemar_table(y_test, pred_logistic, pred_tree)
    print(f"  2x2 table of correct/wrong (logistic rows, tree columns): {table.tolist()}")
    print(f"  {mcnemar(table, method='exact')}")

    print("\nPerformance estimates with intervals")
    print(f"  logistic, 10-fold CV: {cross_val_ci(logistic, X, y, cv=10, random_state=0)}")
    print(
        f"  tree, .632+ bootstrap: {bootstrap_632_score(tree, X, y, n_splits=50, random_state=0)}"
    )


if __name__ == "__main__":
    main()
