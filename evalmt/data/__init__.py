"""Data stage: readers and cleaning steps that build an immutable ``TestSet``."""

from evalmt.data.base import READERS, Reader, ReaderConfig, read_testset, resolve_paths
from evalmt.data.model import Document, Segment, TestSet

__all__ = [
    "READERS",
    "Document",
    "Reader",
    "ReaderConfig",
    "Segment",
    "TestSet",
    "read_testset",
    "resolve_paths",
]
