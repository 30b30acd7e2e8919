"""``piaa serve``: a multi-user web app and HTTP API where people rate photos and get their own ranking.

An interface layer (docs/architecture.md): the profile logic is :mod:`piaa.profiles.core`; this package keeps
its own storage (SQLAlchemy models and Alembic migrations) and is laid out like the FastAPI full-stack template:

- ``app``         — create_app: lifespan, middleware, error handlers, routes, the page
- ``settings``    — Settings (the ``piaa serve`` options)
- ``routes/``     — one module per resource (health, accounts, library, ratings, profile, export, me)
- ``schemas``     — request and response models; ``errors`` — error bodies, handlers, documented statuses
- ``deps``        — the signed-in caller and the service state
- ``persistence`` — tables, engine, migrations, the write discipline; ``queries`` — the SQL the routes run
- ``security``    — argon2 passwords, hashed tokens, CSRF, login rate limit
- ``personal``    — a person's profile: database ids <-> library feature rows, through piaa.profiles.core
- ``library``     — the photo folders: ids, background feature extraction, display JPEGs
- ``limits``, ``strict_json``, ``docs`` — body cap, standard JSON only, the offline /docs page
"""
