"""audit.anomaly."""
