"""Situation reports up the tiers (情况报告制): schedule, report aggregate, generation, loop."""
