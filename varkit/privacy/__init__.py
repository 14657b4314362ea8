"""Estimating the differential-privacy epsilon of a training pipeline from attacks."""

from varkit.privacy.bounds import epsilon_from_rates

__all__ = ["epsilon_from_rates"]
