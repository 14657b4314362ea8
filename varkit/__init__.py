"""varkit: statistical evaluation and safety testing that reports honest uncertainty."""

from varkit.results import Result, ResultSet

#: The version of this varkit.
__version__ = "0.1.0"

__all__ = ["Result", "ResultSet", "__version__"]
