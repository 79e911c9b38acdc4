"""audit.inspector: read-only queries for discipline inspectors, each one audited."""
