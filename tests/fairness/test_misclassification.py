"""Misclassification correction of estimated (BISG) memberships: the matrix, the NNLS
correction, the front door with a calibration sample, and bias and coverage in simulation."""

from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.fairness import (
    misclassification_matrix,
    shuffle_distance,
    simulate_delivery,
    vrs,
    vrs_coverage,
    vrs_metrics,
)
from varkit.fairness.misclassification import Calibration, corrected_shares
from varkit.results import ResultSet, load_json_schema

RACE = ["asian_pi", "black", "hispanic", "white"]  # the eligible table's (sorted) order


def test_corrected_shares_invert_the_mixing_exactly():
    rng = np.random.default_rng(0)
    for _ in range(50):
        k = int(rng.integers(2, 7))
        matrix = 0.5 * np.eye(k) + 0.5 * rng.dirichlet(np.ones(k), size=k)
        s_true = rng.dirichlet(np.ones(k))
        observed = 1234.0 * (matrix.T @ s_true)  # soft counts: M^T s_true, any scale
        np.testing.assert_allclose(corrected_shares(observed, matrix), s_true, atol=1e-12)


def test_shares_outside_the_image_of_the_simplex_are_projected_by_nnls():
    matrix = np.array([[0.8, 0.2], [0.3, 0.7]])
    # M^-T (0.9, 0.1) = (1.2, -0.2); NNLS with s2 = 0: 0.8 (0.8 x - 0.9) + 0.2 (0.2 x - 0.1)
    # = 0 gives x = 0.74 / 0.68 > 0, renormalised to (1, 0)
    assert corrected_shares([90.0, 10.0], matrix).tolist() == [1.0, 0.0]
    stack = corrected_shares(np.array([[90.0, 10.0], [0.0, 0.0], [60.0, 40.0]]), matrix)
    assert stack[0].tolist() == [1.0, 0.0] and np.isnan(stack[1]).all()
    np.testing.assert_allclose(stack[2], [0.6, 0.4])
    # one matrix per replicate
    per_row = corrected_shares(np.array([[75.0, 25.0]] * 2), np.stack([matrix, np.eye(2)]))
    np.testing.assert_allclose(per_row, [[0.9, 0.1], [0.75, 0.25]])


def test_shuffle_distance_corrected_by_hand():
    # 20% of each group's mass on the other: observed 60/40 is true 2/3, 50/50 is 50/50
    matrix = [[0.8, 0.2], [0.2, 0.8]]
    assert shuffle_distance([60, 40], [50, 50], misclassification=matrix) == pytest.approx(1 / 6)
    # (on corrected shares, not counts: 0.6 - 0.5 is not exactly 0.1 in floating point)
    assert shuffle_distance([60, 40], [50, 50], misclassification=np.eye(2)) == pytest.approx(0.1)
    corrected = shuffle_distance([[60, 40], [55, 45]], [50, 50], misclassification=matrix)
    np.testing.assert_allclose(corrected, [1 / 6, 1 / 12])


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.eye(3), "3 x 3|2 x 2"),
        ([[1.2, -0.2], [0.0, 1.0]], "non-negative"),
        ([[0.9, 0.2], [0.1, 0.9]], "row 1 sums to 1.1"),
        ([[0.5, 0.5], [0.5, 0.5]], "singular"),
        ([[0.5, 0.5], [0.5 + 1e-10, 0.5 - 1e-10]], "singular"),
        ([[np.nan, 1.0], [0.0, 1.0]], "finite"),
    ],
)
def test_a_bad_misclassification_matrix_is_one_error_naming_it(matrix, message):
    with pytest.raises(ValueError, match=f"`misclassification`.*({message})"):
        shuffle_distance([60, 40], [50, 50], misclassification=matrix)


def _calibration() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "race": ["white", "white", "black", "black", "black"],
            "p_white": [0.9, 0.7, 0.2, 0.4, 0.3],
            "p_black": [0.1, 0.3, 0.8, 0.6, 0.7],
        }
    )


def test_misclassification_matrix_is_the_mean_membership_per_true_group():
    M = misclassification_matrix(_calibration(), groups=["black", "white"])
    assert M.index.tolist() == ["black", "white"] and M.columns.tolist() == ["black", "white"]
    # black rows: p_black (0.8 + 0.6 + 0.7) / 3 = 0.7; white rows: p_black (0.1 + 0.3) / 2
    np.testing.assert_allclose(M.to_numpy(), [[0.7, 0.3], [0.2, 0.8]])
    default = misclassification_matrix(_calibration())  # the p_<group> columns' order
    assert default.columns.tolist() == ["white", "black"]


@pytest.mark.parametrize(
    ("change", "groups", "message"),
    [
        (lambda f: f.drop(columns="race"), None, "no column 'race'"),
        (lambda f: f.assign(race=["white"] * 5), None, "no row whose true race is 'black'"),
        (lambda f: f.assign(race=["white"] * 4 + ["asian"]), None, "'asian' at row 5"),
        (lambda f: f.assign(race=[None] + ["black"] * 4), None, "missing at row 1"),
        (lambda f: f, ["black", "white", "asian_pi"], "no column 'p_asian_pi'"),
        (lambda f: f.assign(p_other=0.0), None, None),  # a group with no true rows
        (lambda f: f, ["white"], "'p_black' for a group not among white"),
        (lambda f: f.assign(p_black=[0.1, 0.3, 0.8, 0.6, 0.9]), None, "sum to 1.2.*row 5"),
        (lambda f: f.assign(p_black=[0.1, 0.3, 0.8, 0.6, -0.1]), None, "outside"),
        (
            lambda f: f.assign(p_white=0.5, p_black=0.5),
            None,
            "`calibration` is singular",
        ),
    ],
)
def test_a_bad_calibration_sample_is_one_error_naming_it(change, groups, message):
    with pytest.raises(ValueError, match=message or "no row whose true race is 'other'"):
        misclassification_matrix(change(_calibration()), groups=groups)


def test_calibration_replicates_have_the_standard_error_of_a_mean():
    rng = np.random.default_rng(1)
    p_black = rng.beta(2, 3, size=400)
    frame = pd.DataFrame({"race": "black", "p_black": p_black, "p_white": 1 - p_black})
    frame = pd.concat([frame, pd.DataFrame({"race": ["white"], "p_black": 0, "p_white": 1})])
    replicates = Calibration.of(frame, groups=["black", "white"]).replicates(4000, rng)
    expected = p_black.std() / math.sqrt(400)  # the bootstrap SE of a mean of 400 rows
    assert replicates[:, 0, 0].std() == pytest.approx(expected, rel=0.05)
    assert replicates[:, 0, 0].mean() == pytest.approx(p_black.mean(), abs=expected / 5)
    assert (replicates[:, 1] == [0.0, 1.0]).all()  # one row: its mean, always
    np.testing.assert_allclose(replicates.sum(axis=2), 1.0)


@pytest.fixture(scope="module")
def sim():
    return simulate_delivery(
        n_users=1500, n_ads=6, n_rounds=3, blur=0.4, random_state=3, n_calibration=1500
    )


def test_the_corrected_result_keeps_the_uncorrected_one_in_details(sim):
    plain = vrs_metrics(sim.impressions, sim.eligible, "race", n_resamples=0)
    rs = vrs_metrics(
        sim.impressions, sim.eligible, "race", n_resamples=0, calibration=sim.calibration
    )
    M = misclassification_matrix(sim.calibration, groups=RACE)
    for before, after in zip(plain, rs, strict=True):
        d = [before.details["delivered_shares"][g] for g in RACE]
        e = [before.details["eligible_shares"][g] for g in RACE]
        assert after.estimate == pytest.approx(shuffle_distance(d, e, misclassification=M))
        assert after.estimate > before.estimate  # attenuation undone
        assert after.details["uncorrected"]["estimate"] == before.estimate
        assert (
            after.details["uncorrected"]["delivered_shares"] == before.details["delivered_shares"]
        )
        assert after.method == "plug-in-misclassification-corrected"
        assert after.details["correction"] == "misclassification"
        assert after.details["calibration_rows"] == 1500


def test_with_calibration_the_bootstrap_replicates_are_corrected_with_resampled_matrices(sim):
    kwargs = dict(n_resamples=100, random_state=5, redraw_membership=False)
    plain = vrs_metrics(sim.impressions, sim.eligible, "race", **kwargs)
    small = sim.calibration.groupby("race").head(40)  # 160 rows: M is much less sure
    rs = {
        n: vrs_metrics(sim.impressions, sim.eligible, "race", calibration=frame, **kwargs)
        for n, frame in (("big", sim.calibration), ("small", small))
    }
    for i, before in enumerate(plain):
        big, tiny = rs["big"][i], rs["small"][i]
        # the uncorrected interval is the one without calibration, from the same replicates
        for corrected in (big, tiny):
            assert corrected.details["uncorrected"]["ci_low"] == before.ci_low
            assert corrected.details["uncorrected"]["ci_high"] == before.ci_high
        assert big.method == "bootstrap-users-projection-misclassification-corrected"
        assert big.ci_low <= big.estimate <= big.ci_high
    widths = {n: np.mean([r.ci_high - r.ci_low for r in rs[n]]) for n in rs}
    assert widths["small"] > 1.1 * widths["big"]


def test_memberships_are_not_redrawn_under_a_calibration_unless_asked(sim):
    kwargs = dict(n_resamples=20, random_state=5, calibration=sim.calibration)
    assert not vrs_metrics(sim.impressions, sim.eligible, "race", **kwargs)[0].details[
        "redraw_membership"
    ]
    asked = vrs_metrics(sim.impressions, sim.eligible, "race", redraw_membership=True, **kwargs)
    assert asked[0].details["redraw_membership"]


def test_the_front_door_counts_the_corrected_distances_in_the_coverage(sim):
    rs = vrs(
        sim.impressions,
        sim.eligible,
        "race",
        n_resamples=50,
        random_state=2,
        calibration=sim.calibration,
    )
    per_ad = ResultSet(rs.select("shuffle_distance"))
    assert all(r.details["correction"] == "misclassification" for r in per_ad)
    cover = vrs_coverage(per_ad, random_state=2)
    assert rs.select("compliance_coverage")[0] == cover[0]


def test_calibration_refuses_hard_labels_other_engines_and_other_groups(sim):
    with pytest.raises(ValueError, match="`calibration` corrects estimated memberships"):
        vrs_metrics(
            sim.impressions,
            sim.eligible,
            "sex",
            calibration=sim.calibration.assign(sex="female", p_female=0.5, p_male=0.5),
        )
    with pytest.raises(ValueError, match="`calibration` needs the memory engine"):
        vrs(
            sim.impressions,
            sim.eligible,
            "race",
            rows_per_partition=100,
            calibration=sim.calibration,
        )
    with pytest.raises(ValueError, match="no column 'p_asian_pi'"):
        vrs_metrics(
            sim.impressions,
            sim.eligible,
            "race",
            calibration=sim.calibration.drop(columns="p_asian_pi"),
        )


def test_cli_calibration_corrects_and_names_the_file(sim, tmp_path):
    paths = {}
    for name, frame in (("imp", sim.impressions), ("elig", sim.eligible), ("cal", sim.calibration)):
        paths[name] = str(tmp_path / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    args = [
        "fairness",
        "vrs",
        paths["imp"],
        "--eligible",
        paths["elig"],
        "--attribute",
        "race",
        "--resamples",
        "20",
        "--seed",
        "1",
        "--format",
        "json",
    ]
    result = CliRunner().invoke(cli, [*args, "--calibration", paths["cal"]])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.output), load_json_schema())
    rs = ResultSet.from_json(result.output)
    assert rs[0].details["correction"] == "misclassification"
    assert [i["path"] for i in rs.provenance["inputs"]] == [
        paths["imp"],
        paths["elig"],
        paths["cal"],
    ]
    sim.calibration.drop(columns="race").to_csv(paths["cal"], index=False)
    bad = CliRunner().invoke(cli, [*args, "--calibration", paths["cal"]])
    assert bad.exit_code == 2
    assert bad.stderr.strip().startswith("error: ") and "'race'" in bad.stderr


def attenuation_runs(blur: float) -> pd.DataFrame:
    """Per ad of four simulations (each its own calibration sample): corrected and
    uncorrected errors against the true-race distance and whether the intervals cover it
    (percentile, and projection on the first)."""
    rows = []
    for seed in range(4):
        s = simulate_delivery(
            n_users=3000, n_ads=20, n_rounds=5, blur=blur, random_state=seed, n_calibration=2000
        )
        truth = s.truth[s.truth.attribute == "race"].set_index("ad_id")["true_shuffle_distance"]
        for interval in ("percentile", "projection")[: 2 if seed == 0 else 1]:
            rs = vrs_metrics(
                s.impressions,
                s.eligible,
                "race",
                n_resamples=100,
                interval=interval,
                random_state=seed,
                calibration=s.calibration,
            )
            for r in rs:
                true, u = truth[r.group["ad_id"]], r.details["uncorrected"]
                rows.append(
                    (
                        interval,
                        r.estimate - true,
                        r.ci_low <= true <= r.ci_high,
                        r.ci_high - r.ci_low,
                        u["estimate"] - true,
                        u["ci_low"] <= true <= u["ci_high"],
                    )
                )
    return pd.DataFrame(rows, columns=["interval", "bias", "cover", "width", "u_bias", "u_cover"])


@pytest.mark.slow
@pytest.mark.parametrize("blur", [0.3, 0.6])
def test_corrected_distances_are_unbiased_and_cover_across_attenuation_strengths(blur):
    """The simulator's BISG memberships blurred 0.3 and 0.6 (two attenuation strengths):
    80 ads of four simulations, each with its calibration sample of 2,000 users, 100
    replicates, against each ad's true-race distance (mean about 0.29).

    Measured with these seeds (bias: mean over ads, its SE in brackets):

    ========  ==================  ==============  =======================  ============
    blur      corrected bias      95% coverage    mean width               uncorrected
    ========  ==================  ==============  =======================  ============
    0.3       +0.004 (0.003)      0.988 perc.     0.18 perc., 0.35 proj.   bias -0.136,
                                  1.000 proj.                              covers 0.075
    0.6       +0.002 (0.007)      0.975 perc.     0.27 perc., 0.57 proj.   bias -0.209,
                                  1.000 proj.                              covers 0.000
    ========  ==================  ==============  =======================  ============

    Coverage above 0.95 is expected: the user bootstrap treats the delivered users as a
    sample of a population, the truth is that of the users delivered. The projection
    interval is conservative for four groups, as it is without correction.
    """
    table = attenuation_runs(blur)
    perc = table[table.interval == "percentile"]
    floor = 0.95 - 3 * math.sqrt(0.95 * 0.05 / len(perc))
    se = perc["bias"].std() / math.sqrt(len(perc))
    assert perc["u_bias"].mean() < -0.1  # the attenuation is real
    # (+ 0.005: a simulation's ads share its calibration sample's error)
    assert abs(perc["bias"].mean()) < 3 * se + 0.005
    assert abs(perc["bias"].mean()) < 0.1 * abs(perc["u_bias"].mean())
    assert perc["cover"].mean() >= floor
    assert table[table.interval == "projection"]["cover"].mean() >= 0.95
    assert perc["u_cover"].mean() < 0.5
