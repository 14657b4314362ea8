"""theoretical_epsilon: DP-SGD's epsilon from dp-accounting (PLD, RDP) and prv-accountant.

Checked against the exact epsilon of the Gaussian mechanism (Balle and Wang 2018), the
TF Privacy MNIST tutorial's published epsilons (through the Rényi DP of the subsampled
Gaussian, computed here from its closed form at integer orders), and monotonicity.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

from varkit.errors import VarkitError
from varkit.privacy import theoretical_epsilon


def _gaussian_epsilon(sigma: float, delta: float) -> float:
    """The exact epsilon(delta) of the Gaussian mechanism with sensitivity 1 and noise
    ``sigma`` (Balle and Wang 2018, Theorem 8):
    delta = Phi(1/(2s) - eps s) - e^eps Phi(-1/(2s) - eps s)."""

    def gap(eps: float) -> float:
        a = norm.cdf(1 / (2 * sigma) - eps * sigma)
        return a - math.exp(eps) * norm.cdf(-1 / (2 * sigma) - eps * sigma) - delta

    return brentq(gap, 0.0, 100.0, xtol=1e-12)


def _eps(accountant="pld", **kw):
    return theoretical_epsilon(accountant=accountant, **kw).estimate


@pytest.mark.parametrize(("sigma", "delta"), [(1.0, 1e-5), (2.0, 1e-5), (2.0, 1e-3), (5.0, 1e-5)])
def test_pld_of_one_unsampled_step_is_the_exact_gaussian_epsilon(sigma, delta) -> None:
    r = theoretical_epsilon(noise_multiplier=sigma, sample_rate=1.0, steps=1, delta=delta)
    assert r.estimate == pytest.approx(_gaussian_epsilon(sigma, delta), rel=1e-6)
    assert r.ci_low == r.estimate == r.ci_high and r.confidence is None
    assert r.metric == "theoretical_epsilon" and r.method == "dp-accounting-pld"
    assert r.details["accountant"] == "pld" and r.details["steps"] == 1
    assert r.details["library"].startswith("dp-accounting ")


def test_prv_brackets_the_exact_gaussian_epsilon_within_its_error() -> None:
    exact = _gaussian_epsilon(1.0, 1e-5)  # 4.3772
    r = theoretical_epsilon(
        noise_multiplier=1.0, sample_rate=1.0, steps=1, delta=1e-5, accountant="prv"
    )
    assert r.details["prv_eps_lower"] <= exact <= r.estimate  # the upper bound is reported
    assert r.estimate - exact <= 0.02 and r.method == "prv-accountant"


def _log_moment(alpha: int, q: float, sigma: float) -> float:
    """log E[(p/q)^alpha] of the Poisson-subsampled Gaussian at an integer order (Mironov,
    Talwar and Zhang 2019, Sec. 3.3: a binomial sum, exact for integer alpha)."""
    k = np.arange(alpha + 1)
    log_binom = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
    terms = log_binom + (alpha - k) * math.log1p(-q) + k * math.log(q)
    return float(logsumexp(terms + (k * k - k) / (2 * sigma**2)))


def _rdp_epsilon(q: float, sigma: float, steps: int, delta: float, *, improved: bool) -> float:
    """Rényi DP composed over ``steps``, turned into epsilon at ``delta`` and minimised over
    the integer orders 2..63: the classic conversion eps = rdp + log(1/delta)/(alpha - 1)
    (Mironov 2017, Prop. 3; TF Privacy's tutorial) or the improved one (Canonne, Kamath
    and Steinke 2020, Prop. 12), which dp-accounting uses."""
    best = math.inf
    for alpha in range(2, 64):
        rdp = steps * _log_moment(alpha, q, sigma) / (alpha - 1)
        if improved:
            eps = rdp + math.log1p(-1 / alpha) - (math.log(delta) + math.log(alpha)) / (alpha - 1)
        else:
            eps = rdp + math.log(1 / delta) / (alpha - 1)
        best = min(best, eps)
    return best


# TF Privacy, tutorials/README.md, "Select Parameters": MNIST, batch 256 of 60000,
# delta = 1e-5 (noise multiplier, epochs, published epsilon)
TF_PRIVACY_TABLE = [(1.12, 60, 2.92), (1.2, 10, 1.20)]


@pytest.mark.parametrize(("sigma", "epochs", "published"), TF_PRIVACY_TABLE)
def test_rdp_is_the_tf_privacy_tutorials_accounting_with_the_tighter_conversion(
    sigma, epochs, published
) -> None:
    q, steps, delta = 256 / 60000, epochs * 60000 // 256, 1e-5
    # the closed form reproduces the published figure with the conversion used then ...
    assert _rdp_epsilon(q, sigma, steps, delta, improved=False) == pytest.approx(
        published, abs=0.005
    )
    # ... and varkit's RDP is at most the improved conversion over the same orders (its
    # order grid adds fractional orders), and close to it
    improved = _rdp_epsilon(q, sigma, steps, delta, improved=True)
    rdp = _eps("rdp", noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta)
    assert rdp <= improved + 1e-9 and rdp == pytest.approx(improved, rel=0.01)
    assert rdp < published


def test_pld_is_below_rdp_and_prv_agrees_with_pld() -> None:
    kw = {"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 1000, "delta": 1e-5}
    pld, rdp = _eps("pld", **kw), _eps("rdp", **kw)
    prv = theoretical_epsilon(accountant="prv", **kw)
    assert pld < rdp
    assert prv.details["prv_eps_lower"] - 1e-3 <= pld <= prv.estimate + 1e-3
    assert prv.estimate - prv.details["prv_eps_lower"] <= 0.03


def test_more_steps_more_sampling_and_less_noise_mean_more_epsilon() -> None:
    base = {"noise_multiplier": 1.5, "sample_rate": 0.01, "steps": 500, "delta": 1e-5}
    eps = _eps("rdp", **base)
    assert _eps("rdp", **{**base, "steps": 2000}) > eps
    assert _eps("rdp", **{**base, "sample_rate": 0.05}) > eps
    assert _eps("rdp", **{**base, "noise_multiplier": 3.0}) < eps
    assert _eps("rdp", **{**base, "delta": 1e-3}) < eps
    pld = _eps("pld", **{**base, "noise_multiplier": 3.0})  # PLD: slower, fewer checks
    assert pld < _eps("pld", **{**base, "noise_multiplier": 3.0, "steps": 2000})


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"noise_multiplier": 0.0}, "`noise_multiplier`"),
        ({"noise_multiplier": -1.0}, "`noise_multiplier`"),
        ({"noise_multiplier": math.inf}, "`noise_multiplier`"),
        ({"noise_multiplier": "1"}, "`noise_multiplier`"),
        ({"sample_rate": 0.0}, "`sample_rate`"),
        ({"sample_rate": 1.5}, "`sample_rate`"),
        ({"sample_rate": math.nan}, "`sample_rate`"),
        ({"steps": 0}, "`steps`"),
        ({"steps": 10.0}, "`steps`"),
        ({"steps": True}, "`steps`"),
        ({"delta": 0.0}, "`delta`"),
        ({"delta": 1.0}, "`delta`"),
        ({"accountant": "moments"}, "`accountant`"),
    ],
)
def test_bad_parameters_raise_one_varkit_error_naming_them(changes, needle) -> None:
    kw = {"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 10, "delta": 1e-5, **changes}
    with pytest.raises(VarkitError, match=needle):
        theoretical_epsilon(**kw)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # dp-accounting's own, on the way
def test_parameters_beyond_the_accountant_raise_one_error_not_a_traceback() -> None:
    with pytest.raises(VarkitError, match="'pld' accountant .* try another `accountant`"):
        theoretical_epsilon(noise_multiplier=1e-300, sample_rate=0.5, steps=10, delta=1e-5)


def test_the_accountants_logged_warnings_become_one_varkit_warning() -> None:
    from varkit.errors import VarkitWarning

    # dp-accounting logs (through absl) one line per Rényi order it finds unstable here
    with pytest.warns(VarkitWarning, match=r"dp-accounting warned: .* more like it\)") as caught:
        r = theoretical_epsilon(
            noise_multiplier=1.0, sample_rate=1e-300, steps=10, delta=1e-5, accountant="rdp"
        )
    assert len([w for w in caught if issubclass(w.category, VarkitWarning)]) == 1
    assert r.estimate == 0.0
