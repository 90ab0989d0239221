"""Metrics and benchmark reports."""
