"""compare_delivery: paired VRS on/off changes, leveling-down decomposition, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.errors import VarkitError
from varkit.fairness import compare_delivery, simulate_delivery, simulate_paired


def paired_logs(delta_off, delta_on, rng, n_pool=600, n_draws=300):
    """Ads delivered from one pool of users, with and without a controller: each ad's
    population female share is 0.5 + delta against an eligible 50/50, so its true
    shuffle distance is |delta| in each arm; arms share users (paired)."""
    female = rng.random(n_pool) < 0.5
    logs = {}
    for arm, deltas in (("off", delta_off), ("on", delta_on)):
        parts = []
        for a, delta in enumerate(deltas):
            # draw users so that the delivered female share is 0.5 + delta
            weight = np.where(female, 0.5 + delta, 0.5 - delta) / np.where(
                female, female.mean(), 1 - female.mean()
            )
            users = rng.choice(n_pool, size=n_draws, p=weight / weight.sum())
            ids, freq = np.unique(users, return_counts=True)
            parts.append(
                pd.DataFrame(
                    {
                        "ad_id": f"ad_{a}",
                        "user_id": ids.astype(str),
                        "impressions": freq,
                        "sex": np.where(female[ids], "female", "male"),
                    }
                )
            )
        logs[arm] = pd.concat(parts, ignore_index=True)
    n_ads = len(delta_off)
    elig = pd.DataFrame(
        {
            "ad_id": np.repeat([f"ad_{a}" for a in range(n_ads)], 2),
            "attribute": "sex",
            "group": ["female", "male"] * n_ads,
            "eligible": 1e6,
        }
    )
    return logs["on"], logs["off"], elig


def test_pooled_change_interval_covers_the_true_change():
    rng = np.random.default_rng(4)
    delta_off = np.array([0.2, 0.15, 0.25, 0.1, 0.05])
    delta_on = np.array([0.05, 0.08, 0.1, 0.02, 0.06])
    truth = float(np.mean(np.abs(delta_on) - np.abs(delta_off)))
    hits, n_sims = 0, 40
    for sim in range(n_sims):
        on, off, elig = paired_logs(delta_off, delta_on, rng)
        pooled = compare_delivery(
            on, off, elig, attribute="sex", n_resamples=100, random_state=sim
        )[0]
        hits += pooled.ci_low <= truth <= pooled.ci_high
    # 40 logs: binomial sd 0.035 at 0.95
    assert hits / n_sims >= 0.85


def test_simulated_pair_matches_the_true_labels_and_decomposes():
    on, off = simulate_paired(n_users=800, n_ads=6, n_rounds=5, random_state=2)
    rs = compare_delivery(
        on.impressions, off.impressions, on.eligible, attribute="sex", n_resamples=100,
        random_state=0,
    )  # fmt: skip
    pooled = rs[0]
    sex = [t[t["attribute"] == "sex"].set_index("ad_id") for t in (on.truth, off.truth)]
    per_ad = rs.select("shuffle_distance_change")[1:]
    ads = [r.group["ad_id"] for r in per_ad]
    change = sex[0].loc[ads, "true_shuffle_distance"] - sex[1].loc[ads, "true_shuffle_distance"]
    # sex is logged with its true labels: the measured change is the true one
    assert pooled.estimate == pytest.approx(float(change.mean()))
    assert [r.estimate for r in per_ad] == pytest.approx(change.tolist())
    assert pooled.ci_low <= pooled.estimate <= pooled.ci_high
    under, over = rs.select("log_change", unit="impressions")
    assert under.group["role"] == "under-served" and over.group["role"] == "over-served"
    d = under.details
    assert d["ratio_shift"] == pytest.approx(d["from_under_served"] + d["from_over_served"])
    assert d["verdict"].split(":")[0] in ("both", "leveling down", "leveling up", "inconclusive")
    costs = rs.select("cost_per_unique_user_change")
    assert {r.group["group"] for r in costs} == {"female", "male"}
    assert len(rs.select("reach_change")) == 1


def test_leveling_down_is_named():
    # OFF: 150 women, 450 men reached (eligible 50/50); ON: the same 150 women, 150 men
    # -- the gap closed only because men were dropped.
    users = [f"u{i}" for i in range(600)]
    sex = ["female"] * 150 + ["male"] * 450
    off = pd.DataFrame({"ad_id": "a", "user_id": users, "impressions": 1, "sex": sex})
    on = off.iloc[:300]
    elig = pd.DataFrame(
        {"ad_id": "a", "attribute": "sex", "group": ["female", "male"], "eligible": 1e5}
    )
    rs = compare_delivery(on, off, elig, attribute="sex", n_resamples=200, random_state=0)
    under, over = rs.select("log_change", unit="impressions")
    assert under.estimate == pytest.approx(0.0)
    assert over.estimate == pytest.approx(np.log(1 / 3))
    assert under.details["verdict"].startswith("leveling down")
    assert under.details["over_served_share"] == pytest.approx(1.0)
    assert rs[0].estimate == pytest.approx(0.0 - 0.25)


def test_simulate_paired_keeps_the_unpaired_logs():
    on, off = simulate_paired(n_users=300, n_ads=3, n_rounds=3, random_state=5, cost=False)
    alone = simulate_delivery(n_users=300, n_ads=3, n_rounds=3, random_state=5)
    pd.testing.assert_frame_equal(off.impressions, alone.impressions)
    assert on.controller and "cost" not in on.impressions.columns
    with pytest.raises(TypeError, match="controller"):
        simulate_paired(controller=True)


def test_bad_input_and_cli(tmp_path):
    on, off = simulate_paired(n_users=300, n_ads=3, n_rounds=3, random_state=1)
    with pytest.raises(VarkitError, match="user_id"):
        compare_delivery(
            on.impressions.drop(columns="user_id"), off.impressions, on.eligible,
            attribute="sex", n_resamples=20,
        )  # fmt: skip
    for name, frame in (("on", on.impressions), ("off", off.impressions), ("e", on.eligible)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    args = ["fairness", "compare", str(tmp_path / "on.csv"), str(tmp_path / "off.csv")]
    args += ["--eligible", str(tmp_path / "e.csv"), "--resamples", "20", "--seed", "0"]
    result = CliRunner().invoke(cli, [*args, "--attribute", "race", "--format", "json"])
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(cli, [*args, "--attribute", "age"])
    assert bad.exit_code == 2 and bad.output.startswith("error:")
