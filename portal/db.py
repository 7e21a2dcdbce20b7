"""Per-connection database settings."""

from __future__ import annotations

# Low enough that a name with one or two typos ("Jonh Smiht") still matches.
TRIGRAM_SETTINGS = "SET pg_trgm.similarity_threshold = 0.3; SET pg_trgm.word_similarity_threshold = 0.4"


def configure_connection(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(TRIGRAM_SETTINGS)
