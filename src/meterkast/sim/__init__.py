"""Simulation: the household that uses gas, and loops that drive devices over simulated time (sans-I/O)."""
