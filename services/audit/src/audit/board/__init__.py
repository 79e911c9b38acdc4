"""audit.board."""
