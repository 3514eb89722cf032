"""Association LN (class 15 v1), Security setup (class 64 v0), and the whole E-meter object model
(DSMR 4.2.2 P3 §5.1, §3.2; Blue Book classes 15 and 64).

Association LN 0-0:40.0.0.255 is "the current association": what it shows depends on who asks.
* object_list (attr 2) lists the objects visible to the asking client with its access rights: attribute
  access_mode 0 no access, 1 read, 2 write, 3 read and write; method access_mode 0/1 (version 1 enums);
  access_selectors [1, 2] on profile buffers (range and entry descriptors), null-data elsewhere;
* associated_partners_id (3) = {client SAP, server SAP 1}; application_context_name (4) and
  authentication_mechanism_name (6) as the structures of the OID arcs 2.16.756.5.8.1.x / 2.16.756.5.8.2.x;
  xDLMS_context_info (5) = {conformance, max receive PDU 1024, max send PDU, DLMS version 6, QoS, ciphering
  info}; association_status (8) = 2 associated; security_setup_reference (9) = 0-0:43.0.0.255;
* attribute 7 (secret) is not served to anyone although the P3 table gives M "R": HLS5 authenticates with
  the global keys, not the secret, and a readable secret is no secret. Methods: reply_to_HLS_authentication
  is handled by the association state machine before the association exists (``server.py``), so once
  associated it answers ``other-reason``; change_HLS_secret (no secret in HLS5) likewise.

Security setup 0-0:43.0.0.255: security_policy 3 "(authenticated and encrypted)" after commissioning
(P3 §3.2.3.1 item 2), security_suite 0, client and server system titles. security_activate (1) takes the
policy in force, 3, and refuses any other ("Once this attribute has the value 3, it is not possible to lower
the value", P3 §3.2.1): ``other-reason``, or ``type-unmatched`` for a parameter that is not an enum.
global_key_transfer (2) unwraps the new keys under the meter's master key (``cosem.keys``) and leaves them in
``ctx.key_transfer``; the association swaps them once its ACK is sealed under the old keys (``server.py``).
A meter without a master key refuses with ``other-reason``.
"""

from __future__ import annotations

from meterkast.cosem.access import (
    Client,
    CosemObject,
    Ctx,
    GetResult,
    MethodResult,
    ObjectModel,
    attr,
    method,
)
from meterkast.cosem.access import logical_name_attr as ln_attr
from meterkast.cosem.builders import const, obis
from meterkast.cosem.events import KeyTransferRefused
from meterkast.cosem.keys import TransferRefused, accept_key_data
from meterkast.cosem.mbus_objects import mbus_objects
from meterkast.cosem.objects import clock_object, identification_objects, profile_objects, register_objects
from meterkast.dlms import (
    ActionResult,
    Array,
    BitString,
    DlmsData,
    EnumValue,
    Integer,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
)

ASSOCIATION_LN = obis("0-0:40.0.0.255")
SECURITY_SETUP = obis("0-0:43.0.0.255")
SERVER_SAP = 1
ASSOCIATED = 2  # association_status enum (2) associated
SECURITY_POLICY_AUTHENTICATED_ENCRYPTED = 3
SERVER_MAX_RECEIVE_PDU = 1024  # P3 §2.1.3
_SELECTORS = Array((Integer(1), Integer(2)))


def _object_element(obj: CosemObject, client: Client) -> Structure:
    attributes = tuple(Structure((Integer(a.id), EnumValue(int(a.rights.of(client))),
                                  _SELECTORS if a.select is not None else NullData()))
                       for a in obj.attributes)
    methods = tuple(Structure((Integer(m.id), EnumValue(int(m.allowed(client))))) for m in obj.methods)
    return Structure((LongUnsigned(obj.class_id), Unsigned(obj.version), OctetString(obj.logical_name.to_bytes()),
                      Structure((Array(attributes), Array(methods)))))


def _object_list(ctx: Ctx) -> GetResult:
    return Array(tuple(_object_element(obj, ctx.client) for obj in ctx.objects if obj.visible_to(ctx.client)))


def _oid_structure(arc: int, last: int) -> Structure:
    """{joint-iso-ctt 2, country 16, country-name 756, identified-organization 5, DLMS-UA 8, arc, last}."""
    return Structure((Unsigned(2), Unsigned(16), LongUnsigned(756), Unsigned(5), Unsigned(8), Unsigned(arc),
                      Unsigned(last)))


def _xdlms_context(ctx: Ctx) -> GetResult:
    bits = format(int(ctx.conformance), "024b")
    return Structure((BitString(bits), LongUnsigned(SERVER_MAX_RECEIVE_PDU), LongUnsigned(ctx.client_max_pdu),
                      Unsigned(6), Integer(0), OctetString(ctx.client_system_title or b"")))


def _refused(_ctx: Ctx, _parameters: DlmsData | None) -> MethodResult:
    return ActionResult.OTHER_REASON, None


def _security_activate(_ctx: Ctx, parameters: DlmsData | None) -> MethodResult:
    if not isinstance(parameters, EnumValue):
        return ActionResult.TYPE_UNMATCHED, None
    if parameters.value != SECURITY_POLICY_AUTHENTICATED_ENCRYPTED:
        return ActionResult.OTHER_REASON, None  # never lowered (P3 §3.2.1); nothing above 3 in version 0
    return ActionResult.SUCCESS, None


def _global_key_transfer(ctx: Ctx, parameters: DlmsData | None) -> MethodResult:
    if ctx.master_key is None:
        return ActionResult.OTHER_REASON, None
    accepted = accept_key_data(parameters, ctx.master_key)
    if isinstance(accepted, TransferRefused):
        ctx.events.append(KeyTransferRefused(int(ctx.client), accepted.error))
        return accepted.result, None
    ctx.key_transfer = accepted
    return ActionResult.SUCCESS, None


def association_object() -> CosemObject:
    ln = ASSOCIATION_LN
    return CosemObject(ln, 15, 1, "Association LN (current association)", (
        ln_attr(ln),
        attr(2, "object_list", P="R", M="R", get=_object_list),
        attr(3, "associated_partners_id", P="R", M="R",
             get=lambda ctx: Structure((Integer(int(ctx.client)), LongUnsigned(SERVER_SAP)))),
        attr(4, "application_context_name", P="R", M="R", get=lambda ctx: _oid_structure(1, int(ctx.context))),
        attr(5, "xDLMS_context_info", P="R", M="R", get=_xdlms_context),
        attr(6, "authentication_mechanism_name", P="R", M="R",
             get=lambda ctx: _oid_structure(2, int(ctx.mechanism))),
        attr(7, "secret"),  # see module docstring
        attr(8, "association_status", P="R", M="R", get=const(EnumValue(ASSOCIATED))),
        attr(9, "security_setup_reference", P="R", M="R", get=const(OctetString(SECURITY_SETUP.to_bytes()))),
    ), (
        method(1, "reply_to_HLS_authentication", M=True, invoke=_refused),
        method(2, "change_HLS_secret", M=True, invoke=_refused),
        method(3, "add_object"),
        method(4, "remove_object"),
    ))


def security_setup_object() -> CosemObject:
    ln = SECURITY_SETUP
    return CosemObject(ln, 64, 0, "Security setup", (
        ln_attr(ln, P=""),
        attr(2, "security_policy", M="R", get=const(EnumValue(SECURITY_POLICY_AUTHENTICATED_ENCRYPTED))),
        attr(3, "security_suite", M="R", get=const(EnumValue(0))),
        attr(4, "client_system_title", M="R", get=lambda ctx: OctetString(ctx.client_system_title or b"")),
        attr(5, "server_system_title", M="R", get=lambda ctx: OctetString(ctx.info.system_title)),
    ), (
        method(1, "security_activate", M=True, invoke=_security_activate),
        method(2, "global_key_transfer", M=True, invoke=_global_key_transfer),
    ))


def e_meter_model() -> ObjectModel:
    """Every object of the E-meter's management logical device (the COSEM table of this package)."""
    return ObjectModel([
        association_object(), security_setup_object(), clock_object(), *identification_objects(),
        *register_objects(), *profile_objects(), *mbus_objects(),
    ])

