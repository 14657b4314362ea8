"""audit_epsilon with DP-SGD's parameters: the theoretical epsilon beside the audit."""

from __future__ import annotations

import numpy as np
import pytest

from varkit.errors import VarkitError
from varkit.privacy import audit_epsilon, theoretical_epsilon

DP_SGD = {"noise_multiplier": 2.0, "sample_rate": 0.01, "steps": 100}


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    member = rng.integers(0, 2, n)
    return member, rng.normal(1.5 * member, 1.0)


def test_theory_and_ratios_follow_the_audited_results() -> None:
    member, score = _data()
    plain = audit_epsilon(member, score, delta=[1e-5, 1e-3], method="both", random_state=0)
    rs = audit_epsilon(
        member, score, delta=[1e-5, 1e-3], method="both", random_state=0, accountant="rdp", **DP_SGD
    )
    audited = [r for r in rs if r.metric == "epsilon"]
    theory = [r for r in rs if r.metric == "theoretical_epsilon"]
    ratios = [r for r in rs if r.metric == "epsilon_ratio"]
    assert [r.metric for r in rs] == ["epsilon"] * 4 + ["theoretical_epsilon"] * 2 + [
        "epsilon_ratio"
    ] * 4
    # the audit itself is unchanged
    assert [(r.estimate, r.ci_low, r.ci_high) for r in audited] == [
        (r.estimate, r.ci_low, r.ci_high) for r in plain
    ]
    for t in theory:
        expected = theoretical_epsilon(delta=t.details["delta"], accountant="rdp", **DP_SGD)
        assert t.estimate == expected.estimate and t.group == {"delta": t.group["delta"]}
    by_delta = {t.group["delta"]: t.estimate for t in theory}
    for a, q in zip(audited, ratios, strict=True):
        eps = by_delta[a.group["delta"]]
        assert a.details["theoretical_epsilon"] == eps
        assert a.details["audit_ratio"] == pytest.approx(a.ci_low / eps)
        assert q.group == a.group and q.confidence == a.confidence
        assert (q.estimate, q.ci_low) == pytest.approx((a.estimate / eps, a.ci_low / eps))
        assert q.ci_high == a.ci_high / eps  # inf stays inf
        assert q.method == f"{a.method} / dp-accounting-rdp"


def test_per_model_results_get_no_ratio() -> None:
    member, score = _data()
    models = np.array(["a", "b"] * 1000)
    rs = audit_epsilon(member, score, model_id=models, delta=1e-5, random_state=0, **DP_SGD)
    assert [r for r in rs if r.metric == "epsilon_ratio"][0].group == {"delta": "1e-05"}
    assert all("audit_ratio" not in r.details for r in rs if "model_id" in r.group)


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"noise_multiplier": 1.0}, "`sample_rate` and `steps` are missing"),
        ({"noise_multiplier": 1.0, "sample_rate": 0.1}, "`steps` is missing"),
        ({"steps": 10}, "`noise_multiplier` and `sample_rate` are missing"),
        ({**DP_SGD, "noise_multiplier": 0.0}, "`noise_multiplier`"),
        ({**DP_SGD, "accountant": "moments"}, "`accountant`"),
    ],
)
def test_the_dp_sgd_parameters_come_all_together_and_valid(given, needle) -> None:
    member, score = _data()
    with pytest.raises(VarkitError, match=needle):
        audit_epsilon(member, score, delta=1e-5, random_state=0, **given)


def test_a_zero_delta_has_no_theoretical_epsilon() -> None:
    member, score = _data()
    with pytest.raises(VarkitError, match=r"`delta` must be in \(0, 1\)"):
        audit_epsilon(member, score, delta=[0.0, 1e-5], random_state=0, **DP_SGD)
    # without DP-SGD parameters delta = 0 stays admitted
    assert audit_epsilon(member, score, delta=0.0, random_state=0)[0].details["delta"] == 0.0


def test_a_zero_theoretical_epsilon_puts_any_audited_epsilon_infinitely_above() -> None:
    member, score = _data()
    with pytest.warns(UserWarning, match="dp-accounting warned"):
        rs = audit_epsilon(member, score, delta=1e-5, random_state=0, accountant="rdp",
                           noise_multiplier=1.0, sample_rate=1e-300, steps=10)  # fmt: skip
    ratio = next(r for r in rs if r.metric == "epsilon_ratio")
    assert rs[0].ci_low > 0 and ratio.ci_low == ratio.estimate == ratio.ci_high == float("inf")
