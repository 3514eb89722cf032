"""The Itron smart gas meter as a sans-I/O, time-injected model (SYSTEM G1–G14).

Build one with :func:`meterkast.gasmeter.meter.GasMeter.manufacture`, drive it with
``advance(now)`` and ``handle(now, command)``; both return past-tense events.
"""
