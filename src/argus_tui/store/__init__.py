"""Local storage: the SQLite history database."""
