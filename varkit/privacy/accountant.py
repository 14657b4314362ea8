"""The theoretical epsilon of DP-SGD, from a privacy accountant, to set beside an audit.

DP-SGD with Poisson subsampling at rate ``q``, Gaussian noise of standard deviation
``noise_multiplier`` times the clipping norm, run for ``steps`` steps, is the
Poisson-subsampled Gaussian mechanism composed ``steps`` times. Its epsilon at a given
delta is an upper bound that an accountant computes; an audit's lower bound (see
:func:`~varkit.privacy.audit_epsilon`) should not exceed it, and their ratio says how
tight the audit is. The accounting is done by maintained libraries, not here: Google's
``dp-accounting`` (privacy loss distributions, ``'pld'``, or Rényi DP, ``'rdp'``) and
Microsoft's ``prv-accountant`` (``'prv'``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from varkit.errors import VarkitError, VarkitTypeError, VarkitWarning
from varkit.results import Result

__all__ = ["ACCOUNTANTS", "DpSgd", "theoretical_epsilon"]

#: The accountants :func:`theoretical_epsilon` offers.
ACCOUNTANTS = ("pld", "rdp", "prv")

# prv-accountant's error targets: epsilon to within this (absolute), delta far below it
_PRV_EPS_ERROR = 1e-2
_PRV_DELTA_ERROR_SHARE = 1e-3


@dataclass(frozen=True)
class DpSgd:
    """The parameters of a DP-SGD run, validated (see :func:`theoretical_epsilon`)."""

    noise_multiplier: float
    sample_rate: float
    steps: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "noise_multiplier": self.noise_multiplier,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
        }


def _real(name: str, value: Any, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise VarkitTypeError(f"`{name}` must be {rule}, got {value!r}.")
    return float(value)


def validate_dp_sgd(*, noise_multiplier: Any, sample_rate: Any, steps: Any) -> DpSgd:
    """The DP-SGD parameters checked, one sentence naming the parameter per problem."""
    sigma = _real("noise_multiplier", noise_multiplier, "a positive number")
    if not (math.isfinite(sigma) and sigma > 0.0):
        raise VarkitError(f"`noise_multiplier` must be a positive number, got {sigma}.")
    rate = _real("sample_rate", sample_rate, "a number in (0, 1]")
    if not 0.0 < rate <= 1.0:
        raise VarkitError(f"`sample_rate` must be in (0, 1], got {rate}.")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise VarkitTypeError(f"`steps` must be a positive integer, got {steps!r}.")
    if steps < 1:
        raise VarkitError(f"`steps` must be a positive integer, got {steps}.")
    return DpSgd(sigma, rate, int(steps))


def validate_accounting_delta(delta: Any) -> float:
    """A delta in (0, 1): at delta 0 the Gaussian mechanism's epsilon is infinite."""
    value = _real("delta", delta, "a number in (0, 1)")
    if not 0.0 < value < 1.0:
        raise VarkitError(
            f"`delta` must be in (0, 1) for the theoretical epsilon (the Gaussian "
            f"mechanism is not (epsilon, 0)-DP for any finite epsilon), got {value}."
        )
    return value


def validate_accountant(accountant: Any) -> str:
    if accountant not in ACCOUNTANTS:
        raise VarkitError(f"`accountant` must be 'pld', 'rdp' or 'prv', got {accountant!r}.")
    return str(accountant)


def _dp_accounting(run: DpSgd, deltas: Sequence[float], accountant: str) -> list[float]:
    import dp_accounting
    from dp_accounting import pld, rdp

    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            run.sample_rate, dp_accounting.GaussianDpEvent(run.noise_multiplier)
        ),
        run.steps,
    )
    # PLD: the default pessimistic discretisation, so the epsilon is an upper bound
    composed = pld.PLDAccountant() if accountant == "pld" else rdp.RdpAccountant()
    composed.compose(event)
    return [float(composed.get_epsilon(d)) for d in deltas]


def _prv(run: DpSgd, deltas: Sequence[float]) -> list[tuple[float, float, float]]:
    from prv_accountant import PoissonSubsampledGaussianMechanism, PRVAccountant

    mechanism = PoissonSubsampledGaussianMechanism(
        noise_multiplier=run.noise_multiplier, sampling_probability=run.sample_rate
    )
    composed = PRVAccountant(
        prvs=[mechanism],
        max_self_compositions=[run.steps],
        eps_error=_PRV_EPS_ERROR,
        delta_error=min(deltas) * _PRV_DELTA_ERROR_SHARE,
    )
    bounds = []
    for d in deltas:
        low, mid, high = composed.compute_epsilon(delta=d, num_self_compositions=[run.steps])
        bounds.append((float(low), float(mid), float(high)))
    return bounds


_LIBRARY = {"pld": "dp-accounting", "rdp": "dp-accounting", "prv": "prv-accountant"}


class _Collect(logging.Handler):
    """Keeps the messages that dp-accounting logs (through absl) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text not in self.messages:
            self.messages.append(text)


@contextlib.contextmanager
def _library_call(run: DpSgd, accountant: str) -> Iterator[None]:
    """Run an accountant: its logged warnings become varkit warnings, and its numerical
    failures on extreme parameters one error naming them (not a traceback)."""
    logger = logging.getLogger("absl")
    collect, propagate = _Collect(), logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    try:
        yield
    except (ArithmeticError, MemoryError, ValueError) as exc:
        raise VarkitError(
            f"The {accountant!r} accountant ({_LIBRARY[accountant]}) failed for "
            f"noise_multiplier={run.noise_multiplier:g}, sample_rate={run.sample_rate:g}, "
            f"steps={run.steps} ({type(exc).__name__}: {exc}); these parameters are beyond "
            "what it computes: try another `accountant`."
        ) from None
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    if collect.messages:
        more = len(collect.messages) - 1
        extra = f" (and {more} more like it)" if more else ""
        text = f"{_LIBRARY[accountant]} warned: {collect.messages[0]}{extra}"
        warnings.warn(text, VarkitWarning, stacklevel=4)


def accountant_results(run: DpSgd, deltas: Sequence[float], accountant: str) -> list[Result]:
    """One ``theoretical_epsilon`` result per delta, composing the mechanism once."""
    library = _LIBRARY[accountant]
    base = {
        **run.as_dict(),
        "accountant": accountant,
        "library": f"{library} {version(library)}",
        "mechanism": "Poisson-subsampled Gaussian, composed `steps` times (DP-SGD)",
        "bound": "upper: the mechanism is (epsilon, delta)-DP",
    }
    with _library_call(run, accountant):
        if accountant == "prv":
            bounds = _prv(run, deltas)
        else:
            bounds = [(math.nan, math.nan, e) for e in _dp_accounting(run, deltas, accountant)]
    epsilons = [high for _, _, high in bounds]
    extra: list[dict[str, Any]] = [{} for _ in deltas]
    if accountant == "prv":
        extra = [
            {"prv_eps_lower": low, "prv_eps_estimate": mid, "prv_eps_error": _PRV_EPS_ERROR}
            for low, mid, _ in bounds
        ]
    return [
        Result(
            metric="theoretical_epsilon",
            estimate=eps,
            ci_low=eps,
            ci_high=eps,
            method=f"{library}-{accountant}" if accountant != "prv" else library,
            group={"delta": f"{d:g}"},
            details={**base, "delta": d, **more},
        )
        for eps, d, more in zip(epsilons, deltas, extra, strict=True)
    ]


def theoretical_epsilon(
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "pld",
) -> Result:
    """The epsilon that DP-SGD's privacy analysis guarantees, from a privacy accountant.

    DP-SGD with Poisson subsampling is the subsampled Gaussian mechanism composed once
    per step (Abadi et al. 2016); the accountant bounds the epsilon of the composition at
    ``delta``. This is the upper bound an audit's lower bound is set against.

    Parameters
    ----------
    noise_multiplier : float
        The Gaussian noise's standard deviation over the clipping norm, > 0.
    sample_rate : float
        The probability with which each example enters a step's batch (Poisson
        subsampling: batch size over dataset size), in (0, 1].
    steps : int
        The number of noisy steps, a positive integer.
    delta : float
        The delta of (epsilon, delta)-DP, in (0, 1).
    accountant : {'pld', 'rdp', 'prv'}, default 'pld'
        ``'pld'``: privacy loss distributions (``dp-accounting``'s ``PLDAccountant``,
        pessimistic discretisation; tight). ``'rdp'``: Rényi DP (``dp-accounting``'s
        ``RdpAccountant``; an upper bound above the PLD's). ``'prv'``: privacy random
        variables (Gopi et al. 2021, ``prv-accountant``); its upper error bound is
        reported, epsilon to within 0.01.

    Returns
    -------
    Result
        ``metric='theoretical_epsilon'``: an exact value, not an estimate, so
        ``ci_low == estimate == ci_high`` and ``confidence`` is None. ``details`` hold
        the parameters, the accountant and the library's version (``'prv'`` adds its
        lower and central estimates).

    Notes
    -----
    The DP-SGD parameters describe add-or-remove-one adjacency with one example per
    clipped gradient; microbatching or sampling without replacement changes the
    analysis, and is not covered. Costs (one core): RDP takes milliseconds; PLD about
    0.4 s for the classic MNIST setting (noise 1.1, rate 256/60000, 14,062 steps) and
    seconds for 10^6 steps; PRV 1.7 s there but 100 s for 10^5 steps. An accountant's
    warnings (orders it dropped, numerical trouble) are re-raised as
    :class:`~varkit.errors.VarkitWarning`; parameters beyond what it can compute (a
    noise multiplier of 1e-300, 10^9 steps for PLD) raise one
    :class:`~varkit.errors.VarkitError`.

    References
    ----------
    Abadi et al., "Deep learning with differential privacy", CCS 2016.
    Mironov, "Rényi differential privacy", CSF 2017.
    Gopi, Lee and Wutschitz, "Numerical composition of differential privacy",
    NeurIPS 2021.

    Examples
    --------
    One step without subsampling is the Gaussian mechanism, whose exact epsilon is
    known (Balle and Wang 2018: 4.3772 at noise 1 and delta 1e-5):

    >>> from varkit.privacy import theoretical_epsilon
    >>> r = theoretical_epsilon(noise_multiplier=1.0, sample_rate=1.0, steps=1, delta=1e-5)
    >>> round(r.estimate, 4), r.method
    (4.3772, 'dp-accounting-pld')
    >>> rdp = theoretical_epsilon(noise_multiplier=1.0, sample_rate=1.0, steps=1,
    ...                           delta=1e-5, accountant="rdp")
    >>> rdp.estimate > r.estimate        # Rényi DP is looser
    True
    """
    run = validate_dp_sgd(noise_multiplier=noise_multiplier, sample_rate=sample_rate, steps=steps)
    delta = validate_accounting_delta(delta)
    accountant = validate_accountant(accountant)
    return accountant_results(run, [delta], accountant)[0]
