"""routing service: Routing across tiers, A/B assignment, deadlines, decisions and escalation."""
