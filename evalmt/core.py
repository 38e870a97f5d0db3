"""Small names every stage shares: path-safe names, language tags, default metrics.

No heavy imports. Kept here so that no stage imports another sideways for them (``config`` used to
take ``safe_name`` from ``report/``).
"""

from __future__ import annotations

import re

#: Metrics of a run without ``metrics:`` and of ``evalmt score`` without ``--metrics``.
DEFAULT_METRICS: tuple[str, ...] = ("bleu", "chrf")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(name: str) -> str:
    """Make ``name`` one safe path component: no separators, no ``..``, no leading dot."""
    return _SAFE_NAME.sub("_", name).strip("._") or "_"


def primary_subtag(lang: str) -> str:
    """Return the language part of a code, lower-cased (``zh-Hant`` → ``zh``; ``en_US`` → ``en``).

    Underscores count as hyphens, as model hubs write ``zh_CN``.
    """
    return (lang or "").replace("_", "-").split("-")[0].lower()


def is_chinese(lang: str) -> bool:
    """Tell whether a language code names Chinese (``zh``, ``zh-Hant``, ``zho``, ``cmn``...)."""
    return primary_subtag(lang) in {"zh", "zho", "chi", "cmn", "yue"}


def is_english(lang: str) -> bool:
    """Tell whether a language code names English (``en``, ``en-GB``, ``eng``)."""
    return primary_subtag(lang) in {"en", "eng"}
