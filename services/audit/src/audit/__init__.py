"""audit service: The sunshine audit log: verifiable Merkle log, inspector queries, anomalies."""
