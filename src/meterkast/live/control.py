"""The control surface of a running installation: what the web app (and its JSON API) may ask and do.

One object implements it (``live/session.py``); the web app only ever talks to this protocol, so it can be
tested against a session on a simulated clock without sockets. All calls happen on the event loop thread
that also advances the installation, so no locking is needed. Every value returned is JSON-ready
(``meterkast.jsonable``: Decimals as strings, datetimes as ISO 8601 with offset).

Errors: a refused or invalid request raises a ``MeterkastError`` (``InvalidInput`` for bad arguments,
``CommandRefused`` for what the device refuses); the web layer maps these to 400/409 with the message.
"""

from __future__ import annotations

from typing import Any, Protocol

JSON = dict[str, Any]


MAX_JUMP_S = 31 * 86400
"""The longest clock jump one request may ask for: the installation catches up at once, on the server's
event loop (about a second for 31 days, ten for a year), so a larger one would stall every other request."""


class Control(Protocol):
    # -- reading ---------------------------------------------------------------------------------------
    def state(self) -> JSON:
        """Everything a dashboard shows now. Keys (at least):

        - ``clock``: {"now": ISO, "local": ISO (Europe/Amsterdam), "speed": float | None (None = max)}
        - ``gas_meter``: {"meter_number", "type", "index_m3", "lcd": {"text": 8 chars, "segments": {name: bool}},
          "display_state", "battery": {"fraction", "low", "empty"}, "seal_broken", "valve", "alarm", "flowing",
          "firmware": {"legal": {"version", "checksum"}, "functional": {"version"}}, "nameplate": {...}}
        - ``emeter``: {"id", "channels": [{"channel", "equipment_id", "value_m3", "capture_time"}], "power_kw", ...}
        - ``p1``: {"version", "port": int | None, "last_telegram": str | None, "crc_ok": bool | None}
        - ``truth``: {"last_hour": {"hour": ISO, "consumed_m3"}, "total_m3"}
        - ``events``: the newest 50 events, newest first, each {"seq", "at", "source", "kind", "detail"}
        """
        ...

    def profile(self, kind: str, channel: int = 1) -> list[JSON]:
        """``kind`` is ``hourly``, ``daily`` or ``monthly``: the E-meter's gas profile entries, oldest first,
        each {"clock", "capture_time", "value_m3", "status": [flag names]}."""
        ...

    def events(self, after_seq: int = 0) -> list[JSON]:
        """Events with ``seq`` above ``after_seq``, oldest first (for polling)."""
        ...

    def telegrams(self, after_seq: int = 0) -> list[JSON]:
        """Recent P1 telegrams above ``after_seq``: {"seq", "at", "text", "crc_ok"} (a bounded window)."""
        ...

    def truth(self, hours: int = 48) -> list[JSON]:
        """Ground truth per simulated hour, newest last: {"hour", "consumed_m3", "index_m3",
        "p1_value_m3" (what the P1 stream showed for that hour, or None)}."""
        ...

    def cs_status(self) -> JSON:
        """The central system next to the installation (``meterkast run --cs``; docs/cs.md): ``{"enabled":
        False}`` when none runs, else ``enabled``, ``p3``, ``store``, ``emeter``, ``connection``, ``consent``
        (in force now), ``consent_history`` [{"level", "valid_from"}], ``p3_server`` and the CS's own
        ``status()``: ``stats`` (``rows_stored`` among them), ``last_reads`` and ``refused`` (newest first),
        ``refused_total``, ``open_alarms``, ``next_round``, ``meters``, ``last_filing_error``."""
        ...

    # -- acting ----------------------------------------------------------------------------------------
    def press_button(self, hold_s: float) -> JSON:
        """A press of the red button held ``hold_s`` seconds (> 10 s = long press, test mode)."""
        ...

    def break_seal(self) -> JSON: ...

    def reseal(self, operator: str) -> JSON: ...

    def command_valve(self, action: str) -> JSON:
        """``open``/``close``/``release``: always refused by the meter (SYSTEM G12); returns the refusal."""
        ...

    def set_gas_temperature(self, celsius: float | None) -> JSON:
        """Override the gas temperature (None: back to the household's)."""
        ...

    def drain_battery(self, fraction: float) -> JSON:
        """Take ``fraction`` (0..1) of the full capacity out of the battery."""
        ...

    def set_speed(self, speed: float | None) -> JSON:
        """Simulated seconds per real second; None = as fast as possible."""
        ...

    def jump_clock(self, seconds: float) -> JSON:
        """Move simulated time forward (never backwards); the installation catches up at once."""
        ...

    def inject_fault(self, kind: str, value: float | bool = True) -> JSON:
        """Faults by name: ``p2_no_reply``, ``p2_flip_bit`` (probabilities), ``p2_wrong_key`` (bool),
        ``p1_crc_error``, ``p1_truncate`` (probabilities per telegram). ``value`` 0/False clears it."""
        ...

    def set_consent(self, level: str) -> JSON:
        """The customer's new consent for the CS (``none``, ``standard``, ``detailed``; SYSTEM C2), in force
        from now on, never backdated; returns {"connection", "level", "valid_from"}. ``InvalidInput`` for
        another level, ``CommandRefused`` when no central system runs."""
        ...
