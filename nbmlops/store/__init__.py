"""The store: one folder of journals, a catalog and content-addressed artifacts. ALL catalog SQL lives here."""
