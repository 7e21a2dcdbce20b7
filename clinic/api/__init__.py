"""The clinic's partner REST API (patients), served under /api/v1/."""
