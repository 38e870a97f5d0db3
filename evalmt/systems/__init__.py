"""Translation systems: the ``Translator`` protocol and the ``SYSTEMS`` registry."""

from evalmt.systems.base import SYSTEMS, SystemConfig, Translator

__all__ = ["SYSTEMS", "SystemConfig", "Translator"]
