"""Benchmarks: each ``bench_*.py`` runs our code and a peer on the same input and prints the ratio."""
