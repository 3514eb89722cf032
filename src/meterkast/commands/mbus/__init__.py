"""``meterkast mbus decode|encode|scan``: wired M-Bus (EN 13757-2/-3, DSMR P2) at the command line.

One module per verb, each with its own ``register(verbs)``:

- ``decode``: hex text (or raw bytes on stdin) → frames → one annotated line per byte range
  (``mbus.annotate``, in the spirit of wmbusmeters' ``analyze``) or one JSON object per frame
  (``mbus.jsonio``). ``--key`` decrypts DSMR P2 mode 15 blocks (``mbus.security``).
- ``encode``: the JSON ``decode --json`` prints → frame bytes, as hex or ``--raw``.
- ``scan``: SND_NKE + REQ_UD2 per primary address through ``mbus.master.BusMaster``, or the wildcard
  search of ``mbus.secondary`` with ``--secondary``.
- ``gateway``: simulated P2 gas meters served on a TCP gateway and a pty for any M-Bus master, their keys
  printed or written to a file (``sim.gateway_devices``; the one verb that shows keys, as they are the
  user's own simulated meters').

Rules the verbs keep:
- bad input is a ``MeterkastError`` naming where it is (byte offset in the input, character of the hex
  text, JSON path), so ``cli.main`` exits 2 with a message and never a traceback;
- the input must be frames back to back unless ``--resync`` lets the framer skip noise (and say how much);
- byte offsets printed and reported are offsets in the whole input, not in the frame;
- key bytes never appear in output or messages (DSMR P2 §6.5).
"""

from __future__ import annotations

import argparse

from meterkast.commands.mbus import decode, encode, gateway, scan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mbus = sub.add_parser("mbus", help="wired M-Bus frames (EN 13757-2/-3, DSMR P2): decode, encode, scan, gateway")
    verbs = mbus.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in (decode, encode, scan, gateway):
        verb.register(verbs)
