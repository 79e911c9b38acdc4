"""audit.log."""
