"""Importers: another tracker's history brought into a store (`nbmlops import mlflow URI`).

Each importer reads its source with that tool's own client, builds the tables a bundle holds and
merges them through the bundle merge (`nbmlops.store.bundles.merge_tables`), so that importing
again adds nothing and a run that went on at the source is updated here.
"""
