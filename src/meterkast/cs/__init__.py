"""The central system (CS) as a service: what it reads from E-meters over P3, when, and what it files
(issue 6; SYSTEM C1–C4, E3; docs/cs.md).

Sans-I/O (in ``CORE`` of tests/test_architecture.py): ``schedule`` (consent → profiles, gaps → reads,
rounds, throttling, backoff), ``collect`` (one contact as a P3 procedure), ``alarms`` (alarm register and
M-Bus events → alarms), ``journal`` (recent reads and consent refusals), ``inventory`` (meters and the
meters file), ``fleet`` (simulated E-meters, cheap to build). The shell: ``service.CentralSystem`` (asyncio,
the store in worker threads, P3 over TCP) and ``fleet_serve.FleetServer`` (a fleet on TCP ports).
This module imports none of them, so importing a core module pulls in no I/O.
"""
