"""evalmt: a config-driven machine-translation evaluation harness.

Data flows one way: ``data`` (readers → TestSet) → ``systems`` (translators)
→ ``metrics`` (sufficient statistics, CIs, significance) → ``report``.
Importing this package has no side effects and imports no heavy back end.
"""

__version__ = "0.1.0"
