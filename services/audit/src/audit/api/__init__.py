"""audit.api."""
