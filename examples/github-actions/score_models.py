"""Score a candidate and a baseline model on the same test set, for ``varkit evaluate compare``.

Writes one row per test example: ``id``, ``y_true`` and one column of predicted labels per
model (``candidate`` first, so the comparison is labelled ``candidate-baseline``). Here the
baseline in production is Gaussian naive Bayes and the candidate a logistic regression, on
scikit-learn's bundled digits data: replace them with your own models and data, and keep
the test set the same for both models (the comparison is paired: McNemar, paired
bootstrap).

Run: ``python examples/github-actions/score_models.py --output predictions.csv``.
"""

import argparse

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="predictions.csv", help="CSV file to write.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the train/test split.")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=args.seed
    )
    models = {
        "candidate": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "baseline": GaussianNB(),
    }
    predictions = pd.DataFrame({"id": range(1, len(y_test) + 1), "y_true": y_test})
    for name, model in models.items():
        predictions[name] = model.fit(X_train, y_train).predict(X_test)
    predictions.to_csv(args.output, index=False)
    print(f"wrote {len(predictions)} test rows x {len(models)} models to {args.output}")


if __name__ == "__main__":
    main()
