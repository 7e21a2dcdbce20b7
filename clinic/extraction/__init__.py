"""Text and fields from a clinic's documents: what a file is, its text, its fields.

Nothing here touches the database or storage: it takes bytes and gives back an
`Extraction`, so the worker, the tests and the benchmark call the same code.
"""

from clinic.extraction.detect import (
    ALLOWED_TYPES,
    Inspection,
    RefusedFile,
    inspect_file,
    sniff_type,
)
from clinic.extraction.run import Extraction, extract

__all__ = [
    "ALLOWED_TYPES",
    "Extraction",
    "Inspection",
    "RefusedFile",
    "extract",
    "inspect_file",
    "sniff_type",
]
