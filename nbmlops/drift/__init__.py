"""Drift monitoring: per-column drift statistics, reference profiles, reports and the monitoring service."""
