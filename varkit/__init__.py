"""varkit: statistical evaluation and safety testing that reports honest uncertainty."""

from varkit.results import Result, ResultSet

__version__ = "0.1.0"

__all__ = ["Result", "ResultSet", "__version__"]
