"""Benchmarks that back the numbers in BENCHMARKS.md (each one is a function a CLI or script calls)."""
