"""One reader per database, each reading the database's label files in their published layout."""
