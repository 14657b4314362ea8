"""Sufficient counts: hard and soft memberships, units, chunked merging, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from varkit.fairness.counts import count_delivery, count_delivery_chunks, count_eligible


def _soft_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ad_id": ["a", "a", "b"],
            "user_id": ["u1", "u2", "u1"],
            "impressions": [10, 5, 2],
            "p_black": [0.3, 0.8, 0.3],
            "p_white": [0.7, 0.2, 0.7],
        }
    )


def test_soft_counts_are_sums_of_probabilities():
    counts = count_delivery(_soft_log(), "race")
    assert counts.soft and counts.groups == ("black", "white")
    totals = counts.totals()
    # ad a: black = 10*.3 + 5*.8 = 7, white = 10*.7 + 5*.2 = 8
    np.testing.assert_allclose(totals.loc["a"].to_numpy(), [7.0, 8.0])
    np.testing.assert_allclose(totals.loc["b"].to_numpy(), [0.6, 1.4])


def test_soft_and_hard_counts_differ():
    log = _soft_log()
    log["race"] = np.where(log["p_white"] > 0.5, "white", "black")
    hard = count_delivery(log, "race").totals()
    assert hard.loc["a"].tolist() == [5.0, 10.0]  # argmax labels: u1 white, u2 black


def test_reach_counts_each_user_once_with_its_membership():
    reach = count_delivery(_soft_log(), "race").totals(unit="reach")
    np.testing.assert_allclose(reach.loc["a"].to_numpy(), [0.3 + 0.8, 0.7 + 0.2])


def test_reach_needs_user_ids():
    log = _soft_log().drop(columns="user_id")
    with pytest.raises(ValueError, match="user_id"):
        count_delivery(log, "race").totals(unit="reach")


def test_drop_groups_are_counted_not_silently_lost():
    log = pd.DataFrame(
        {"ad_id": ["a"] * 3, "impressions": [4, 5, 6], "sex": ["female", "male", "unknown"]}
    )
    counts = count_delivery(log, "sex")
    assert counts.groups == ("female", "male")
    assert counts.info["dropped_impressions"] == 6.0
    assert counts.totals().loc["a"].tolist() == [4.0, 5.0]


def test_probabilities_within_tolerance_are_renormalised_and_counted():
    log = _soft_log()
    log.loc[0, "p_white"] = 0.71  # sums to 1.01: rounded BISG output
    counts = count_delivery(log, "race")
    assert counts.info["renormalised_rows"] == 1
    np.testing.assert_allclose(counts.totals().loc["a"].sum(), 15.0)


def test_rows_merely_rounded_to_six_decimals_are_not_counted_as_renormalised():
    # 0.7 + 0.2 + 0.1 sums to 1 - 1.1e-16 in floating point
    three = pd.DataFrame(
        {"ad_id": ["a"], "impressions": [3], "p_x": [0.7], "p_y": [0.2], "p_z": [0.1]}
    )
    assert three[["p_x", "p_y", "p_z"]].to_numpy().sum() != 1.0
    assert count_delivery(three, "race").info["renormalised_rows"] == 0
    # four groups printed to 6 decimals: each off by up to 5e-7, the row by up to 2e-6
    four = pd.DataFrame(
        {
            "ad_id": ["a"],
            "impressions": [3],
            "p_w": [0.2500005],
            "p_x": [0.2500005],
            "p_y": [0.2500005],
            "p_z": [0.2500005],
        }
    )
    assert count_delivery(four, "race").info["renormalised_rows"] == 0
    # off by 2e-5 (rounded to 4 decimals, or not normalised): counted
    four["p_z"] = 0.25002
    assert count_delivery(four, "race").info["renormalised_rows"] == 1


def test_the_bundled_example_has_no_renormalised_rows():
    from varkit.datasets.fairness import load_impressions_example

    log = load_impressions_example()
    probs = log[[c for c in log.columns if c.startswith("p_")]].to_numpy()
    assert (probs.sum(axis=1) != 1.0).sum() > 1000  # rounding: 1,683 of 3,679 rows
    assert count_delivery(log, "race").info["renormalised_rows"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"p_white": [0.9, 0.2, 0.7]}, "sum to 1.2"),
        # rows count from 1, as io.py and a spreadsheet do (these were 0-based before)
        ({"impressions": [1, -1, 2]}, "integer counts .*row 2 holds -1"),
        ({"impressions": [1, 2.5, 2]}, "integer counts .*row 2 holds 2.5"),
        ({"impressions": [1, 2, 2.0**60]}, "at most 2\\*\\*53.*row 3"),
        ({"p_black": [0.3, 0.8, np.nan]}, "non-numeric value at row 3"),
        ({"p_black": [1.3, 0.8, 0.3]}, "outside"),
    ],
)
def test_bad_delivery_input_is_one_sentence(change, message):
    log = _soft_log().assign(**change)
    with pytest.raises(ValueError, match=message):
        count_delivery(log, "race")


def test_label_missing_from_eligible_groups_is_an_error():
    log = pd.DataFrame({"ad_id": ["a"], "impressions": [1], "sex": ["Female"]})
    with pytest.raises(ValueError, match="'Female'"):
        count_delivery(log, "sex", groups=["female", "male"])


def test_no_attribute_column_is_an_error():
    log = pd.DataFrame({"ad_id": ["a"], "impressions": [1]})
    with pytest.raises(ValueError, match="neither a column 'sex'"):
        count_delivery(log, "sex")


def test_chunked_counts_equal_one_shot_counts():
    rng = np.random.default_rng(0)
    n = 3000
    probs = rng.dirichlet(np.ones(4), size=n)
    log = pd.DataFrame(
        {
            "ad_id": rng.choice(["a1", "a2", "a3"], size=n),
            "user_id": rng.integers(0, 400, size=n).astype(str),
            "impressions": rng.integers(0, 6, size=n),
            "sex": rng.choice(["female", "male"], size=n),
        }
    )
    for k, name in enumerate(["w", "b", "h", "a"]):
        log[f"p_{name}"] = probs[:, k]
    chunks = [log.iloc[i : i + 700] for i in range(0, n, 700)]
    hard_once, hard_chunked = count_delivery(log, "sex"), count_delivery_chunks(chunks, "sex")
    pd.testing.assert_frame_equal(hard_once.table, hard_chunked.table, check_exact=True)
    soft_once = count_delivery(log, "race")
    soft_chunked = count_delivery_chunks(chunks, "race")
    pd.testing.assert_frame_equal(
        soft_once.table, soft_chunked.table[list(soft_once.table.columns)], rtol=1e-12
    )
    assert soft_chunked.info["n_rows"] == n


def test_eligible_counts_with_noise_and_missing_cells():
    table = pd.DataFrame(
        {
            "ad_id": ["a", "a", "b", "a"],
            "attribute": ["sex", "sex", "sex", "race"],
            "group": ["female", "male", "female", "white"],
            "eligible": [40.0, -2.0, 30.0, 5.0],
            "noise_scale": [5.0, 5.0, 0.0, 0.0],
        }
    )
    elig = count_eligible(table, "sex")
    assert elig.groups == ("female", "male")
    assert elig.counts.loc["a"].tolist() == [40.0, -2.0]
    assert elig.counts.loc["b"].tolist() == [30.0, 0.0]
    assert elig.info["missing_cells"] == 1
    assert elig.noise_scale.loc["a"].tolist() == [5.0, 5.0]


def test_eligible_unknown_attribute_and_unexplained_negative():
    table = pd.DataFrame(
        {"ad_id": ["a"], "attribute": ["sex"], "group": ["female"], "eligible": [-1.0]}
    )
    with pytest.raises(ValueError, match="'race' is not in the eligible table"):
        count_eligible(table, "race")
    with pytest.raises(ValueError, match="no noise_scale"):
        count_eligible(table, "sex")


def test_per_ad_counts_are_sorted_and_equal_the_per_user_totals():
    rng = np.random.default_rng(5)
    n = 2000
    log = pd.DataFrame(
        {
            "ad_id": rng.choice(["c", "a", "b10", "b9"], size=n),  # first seen unsorted
            "user_id": rng.integers(0, 300, size=n),
            "impressions": rng.integers(0, 5, size=n),
            "sex": rng.choice(["male", "unknown", "female"], size=n),
        }
    )
    per_ad = count_delivery(log, "sex", by_user=False)
    per_user = count_delivery(log, "sex")
    assert list(per_ad.table.index) == ["a", "b10", "b9", "c"]
    pd.testing.assert_frame_equal(per_ad.totals(), per_user.totals(), check_exact=True)
    expected = (
        log[log["sex"] != "unknown"]
        .groupby(["ad_id", "sex"])["impressions"]
        .sum()
        .unstack()
        .astype(float)
    )
    np.testing.assert_array_equal(per_ad.totals().to_numpy(), expected.to_numpy())
    assert (
        per_ad.info["dropped_impressions"] == log.loc[log["sex"] == "unknown", "impressions"].sum()
    )
    np.testing.assert_array_equal(
        per_ad.table["impressions"].to_numpy(), log.groupby("ad_id")["impressions"].sum()
    )


def test_ad_ids_that_read_the_same_as_text_are_one_ad():
    log = pd.DataFrame(
        {"ad_id": [7, "7", "x"], "impressions": [1, 2, 4], "sex": ["female", "male", "male"]},
        dtype=object,
    ).astype({"impressions": int})
    counts = count_delivery(log, "sex", by_user=False)
    assert counts.totals().to_dict("index") == {
        "7": {"female": 1.0, "male": 2.0},
        "x": {"female": 0.0, "male": 4.0},
    }


@pytest.mark.parametrize("by_user", [True, False])
def test_missing_keys_and_labels_name_the_row(by_user):
    log = pd.DataFrame(
        {"ad_id": ["a", None], "user_id": [1, 2], "impressions": [1, 1], "sex": ["male"] * 2}
    )
    # the second data row is row 2 (1-based, as io.py counts; this said row 1 before)
    with pytest.raises(ValueError, match="column 'ad_id' is missing at row 2"):
        count_delivery(log, "sex", by_user=by_user)
    log = log.assign(ad_id=["a", "b"], sex=["male", None])
    with pytest.raises(ValueError, match="'sex' has a missing label at row 2"):
        count_delivery(log, "sex", by_user=by_user)
