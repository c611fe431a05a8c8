"""The model registry: versions and aliases, model files and their trust, export and serving."""
