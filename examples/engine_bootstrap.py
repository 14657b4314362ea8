"""The shared resampling engine on its own (varkit.gpu), here on the CPU.

A simulated A/B test logs 4000 sessions of 800 users, randomised by user. The engine gives
bootstrap intervals for the revenue per session in each variant, resampling whole users
(sessions of one user are not independent), the difference of the variants' revenue per
user with a permutation test of it (relabelling users is the randomisation the test ran),
and the median through a callable statistic. Named statistics take the fast weighted-sum
path; a callable falls back to index resampling. The same seed gives the same interval
whatever the batch size, and on a GPU (``device="gpu"``, needs CuPy) too.

Run: ``python examples/engine_bootstrap.py`` (a few seconds; numba compiles its kernels on
the first run).
"""

import numpy as np

from varkit.gpu import bootstrap, cupy_available, permutation_test


def median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def main() -> None:
    rng = np.random.default_rng(0)
    n_users = 800
    user = rng.integers(0, n_users, size=4000)
    variant = user % 2
    spend = rng.lognormal(0.0, 1.0, size=n_users)[user]  # some users always spend more
    revenue = rng.exponential(spend * np.where(variant == 1, 1.1, 1.0))

    print(f"GPU available: {cupy_available()}; running on the CPU\n")
    for label in (0, 1):
        rows = variant == label
        per_session = bootstrap(
            revenue[rows],
            "mean",
            clusters=user[rows],
            n_resamples=2000,
            device="cpu",
            random_state=1,
        )
        print(f"variant {label}, revenue per session: {per_session}")

    per_user = np.bincount(user, weights=revenue, minlength=n_users)
    treated, control = per_user[1::2], per_user[0::2]
    difference = bootstrap(
        (treated, control), "mean_difference", n_resamples=2000, device="cpu", random_state=1
    )
    test = permutation_test(treated, control, n_resamples=2000, device="cpu", random_state=1)
    print(f"\nrevenue per user, variant 1 - 0: {difference}")
    print(f"permutation test of it:          {test}")

    result = bootstrap(
        revenue, median, n_resamples=1000, method="percentile", device="cpu", random_state=1
    )
    print(f"\ncallable statistic: {result}")

    small = bootstrap(revenue, "mean", n_resamples=2000, batch=100, device="cpu", random_state=1)
    large = bootstrap(revenue, "mean", n_resamples=2000, batch=2000, device="cpu", random_state=1)
    same = (small.ci_low, small.ci_high) == (large.ci_low, large.ci_high)
    print(f"same seed, batch 100 vs 2000, identical interval: {same}")


if __name__ == "__main__":
    main()
