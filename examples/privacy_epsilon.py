"""How much privacy does a membership-inference attack show is lost? (varkit.privacy)

A simulated attack scores 4000 challenge points, half of them training-set members
(scores ~ N(1.5, 1) for members, N(0, 1) for the others). At a threshold fixed beforehand
the attack's confusion counts bound epsilon of (epsilon, delta)-DP; the Bayesian estimate
(Zanella-Beguelin et al. 2023, a joint Beta posterior on the two error rates) gives a
narrower interval than the Clopper-Pearson one from the same counts. ``audit_epsilon``
does the same from the raw log, choosing the threshold on a held-out half.

Run: ``python examples/privacy_epsilon.py`` (a few seconds).
"""

import numpy as np
from scipy.stats import norm

from varkit.privacy import (
    EpsilonPosterior,
    attack_counts,
    audit_epsilon,
    bayesian_epsilon,
    clopper_pearson_epsilon,
)

DELTA = 1e-5


def main() -> None:
    rng = np.random.default_rng(0)
    member = rng.permutation(np.repeat([0, 1], 2000))
    score = rng.normal(1.5 * member, 1.0)

    counts = attack_counts(member, score, threshold=2.0)
    print(f"attack at threshold 2.0: {counts.as_dict()}")
    print(f"  FPR = {counts.fpr:.4f}, FNR = {counts.fnr:.4f}, delta = {DELTA:g}")
    # The epsilon this threshold shows on the true score distributions (Kairouz et al.
    # 2015, Thm 2.1: 1 - delta - FNR <= e^epsilon FPR, and the same with FPR, FNR swapped).
    fpr, fnr = norm.sf(2.0), norm.cdf(2.0 - 1.5)
    truth = max(np.log((1 - DELTA - fnr) / fpr), np.log((1 - DELTA - fpr) / fnr))
    print(f"  the exact epsilon at this threshold: {truth:.3f}")

    bayes = bayesian_epsilon(**counts.as_dict(), delta=DELTA)
    exact = clopper_pearson_epsilon(**counts.as_dict(), delta=DELTA)
    print("\nepsilon from the same counts (95% intervals)")
    for result in (bayes, exact):
        width = result.ci_high - result.ci_low
        print(f"  {result}   width {width:.3f}")

    posterior = EpsilonPosterior(**counts.as_dict(), delta=DELTA)
    print(f"  posterior P(epsilon > 2.4) = {1 - float(posterior.cdf(2.4)):.3f}")

    print("\nfrom the raw log (threshold chosen on a held-out half of the rows)")
    for result in audit_epsilon(member, score, delta=DELTA, method="both", random_state=0):
        print(f"  {result}")


if __name__ == "__main__":
    main()
