"""The bundled CAV test log: 2000 importance-sampling tests of the ``surrogate`` vehicle.

Made by :func:`make_cav_example` (``OvertakingScenario()``: the one-critical proposal with
its default twist controls, the 15 ``cv_twist_*`` columns, seed 20221), whose exact crash
rate is ``OvertakingScenario().crash_rate("surrogate")``. The draws (``crash``, ``weight``,
``n_critical``) are those of the earlier binned log; only the W-weighted and gap-count
controls are gone. It keeps the columns of the logs before ``crash_step`` and ``p_k`` were
appended (``varkit.cav.scenarios.EXTRA_LOG_COLUMNS``): an old log, which the readers still
take.

Examples
--------
>>> from varkit.datasets.cav import load_cav_example
>>> log = load_cav_example()
>>> log.shape, list(log.columns[:3])
((2000, 18), ['crash', 'weight', 'n_critical'])
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["CAV_EXAMPLE_SEED", "load_cav_example", "make_cav_example"]

CAV_EXAMPLE_SEED = 20221
_FILE = "cav_example.csv"


def make_cav_example(n_tests: int = 2000, seed: int = CAV_EXAMPLE_SEED) -> pd.DataFrame:
    """Regenerate the bundled log from the simulator (``n_tests`` tests, seed ``seed``).

    The simulator's log without the columns appended since the file was made
    (``crash_step``, ``p_k``).

    Examples
    --------
    >>> from varkit.datasets.cav import load_cav_example, make_cav_example
    >>> log = make_cav_example(100)
    >>> log.shape, log.columns.equals(load_cav_example().columns)
    ((100, 18), True)
    """
    from varkit.cav.scenarios import EXTRA_LOG_COLUMNS, OvertakingScenario

    log = OvertakingScenario().simulate(n_tests, "surrogate", random_state=seed)
    return log.drop(columns=list(EXTRA_LOG_COLUMNS))


def load_cav_example() -> pd.DataFrame:
    """The bundled test log (``crash``, ``weight``, ``n_critical``, ``cv_*``).

    Examples
    --------
    >>> from varkit.cav import crash_rate
    >>> from varkit.datasets import load_cav_example
    >>> log = load_cav_example()
    >>> len(log), int(log["crash"].sum()) > 0
    (2000, True)
    >>> crash_rate(log, method="is").results[0].method
    'importance-sampling'
    """
    path = resources.files("varkit").joinpath("datasets", "data", _FILE)
    with resources.as_file(path) as real:
        return pd.read_csv(real)


if __name__ == "__main__":  # regenerate: python -m varkit.datasets.cav
    target = resources.files("varkit").joinpath("datasets", "data", _FILE)
    make_cav_example().to_csv(str(target), index=False, float_format="%.12g")
