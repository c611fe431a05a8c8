"""Tracking: the Tracker that buffers a process's runs into its journal, input validation, provenance, run names."""
