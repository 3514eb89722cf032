"""Adapters at the edge (STYLE 10): serial ports, TCP, pseudo-terminals. Thin; each has an in-memory twin."""
