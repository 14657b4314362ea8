"""Measure how evenly housing ads reach demographic groups (varkit.fairness).

A synthetic ad auction delivers 20 ads to 3000 users over 10 days, once without and once
with a VRS-like controller that nudges each ad's delivery towards its eligible audience.
For every ad ``vrs_metrics`` computes the shuffle distance between the delivered and the
eligible sex mix (Meta's Variance Reduction System metric) with a user-level bootstrap
interval; ``vrs_coverage`` gives the share of ads (and of impressions) under the 10% bar
and the mean distance, each with its own interval.

Run: ``python examples/fairness_vrs.py`` (a few seconds).
"""

from varkit.fairness import simulate_delivery, vrs_coverage, vrs_metrics

SETTINGS = {"n_users": 3000, "n_ads": 20, "n_rounds": 10, "random_state": 0}


def main() -> None:
    for controller in (False, True):
        logs = simulate_delivery(controller=controller, **SETTINGS)
        per_ad = vrs_metrics(
            logs.impressions,
            logs.eligible,
            "sex",
            threshold=0.10,
            n_resamples=200,
            random_state=0,
        )
        print(f"controller {'on' if controller else 'off'}: {len(logs.impressions):,} log rows")
        for result in list(per_ad)[:3]:
            print(f"  {result}")
        print(f"  ... {len(per_ad) - 3} more ads")
        for result in vrs_coverage(per_ad, random_state=0):
            print(f"  {result}")
        print()


if __name__ == "__main__":
    main()
