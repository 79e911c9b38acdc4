"""Replay and analytics for Bianmin (the `bianmin` command)."""
