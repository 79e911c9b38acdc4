"""audit.witness."""
