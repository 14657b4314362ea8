"""Small bundled example logs used by ``varkit demo``, the examples and the tests."""

from varkit.datasets.sessions import load_sessions_example

__all__ = ["load_sessions_example"]
