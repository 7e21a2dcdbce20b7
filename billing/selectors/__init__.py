"""Reads of billing that are more than one line."""
