"""``piaa serve``: a multi-user web app and HTTP API where people rate photos and get their own ranking.

An interface layer (docs/design.md §5): it calls the feature extractor, the generic scorer and the personalizers and
keeps its own storage (SQLAlchemy models and Alembic migrations in this package).

- ``db``        — tables, engine (SQLite WAL / PostgreSQL), migrations, the write discipline
- ``security``  — argon2 passwords, hashed tokens, CSRF, login rate limit
- ``library``   — the photo folders: ids, background feature extraction, display JPEGs
- ``learn``     — a person's profile from ratings + comparisons, self-assessment in plain words
- ``app``       — settings, app factory, authentication; ``api`` — the HTTP routes; ``static`` — the page
"""
