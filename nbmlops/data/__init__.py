"""Datasets: fingerprints, in-memory frames to files, snapshots, data diffs and lineage."""
