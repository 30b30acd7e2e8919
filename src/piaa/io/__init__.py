"""Input/output: robust image loading, image discovery, metadata (XMP)."""
