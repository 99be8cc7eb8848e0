"""The real-data development benchmark (see docs/real-data.md)."""
