"""ANSI X12 5010: 837P claims out (005010X222A1), 835 remittances in (005010X221A1)."""
