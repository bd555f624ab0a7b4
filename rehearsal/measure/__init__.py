"""Measurement shared by every scenario: bounded load, probes, sizes and reports."""
