"""Transparency log primitives (RFC 9162 Merkle trees, proofs, C2SP signed notes)."""
