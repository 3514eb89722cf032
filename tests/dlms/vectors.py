"""Known-answer vectors for the DLMS codec: one table drives both the decoder and the encoder tests.

Sources (tags used in ``source``):
- GB: DLMS UA Green Book examples (ed. 7–10), as published in the test suite of pwitab/dlms-cosem
  (``tests/test_asce/test_aarq.py`` "Example encodings from DLMS Green Book v10", ``test_aare.py``,
  ``test_rlrq.py``, ``test_rlre.py``, ``test_xdlms/test_initiate.py``, ``test_security.py``). The keys are
  the Green Book's: system title 4D4D4D0000BC614E, EK 000102…0F, AK D0D1…DF, invocation counter 01234567.
- DC: other examples from the dlms-cosem test suite (``test_xdlms/test_get.py``, ``test_action.py``,
  ``test_selective_access.py``, ``test_time.py``).
- MK: written for meterkast from the ASN.1 (no published vector found); the interop test cross-checks them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from meterkast.dlms import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    Apdu,
    ApplicationContext,
    AssociationResult,
    AttributeDescriptor,
    AttributeWithSelection,
    CaptureObject,
    CipheredApdu,
    ClassId,
    ConfirmedServiceError,
    Conformance,
    DataAccessResult,
    DoubleLongUnsigned,
    EntryDescriptor,
    ExceptionResponse,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    MechanismName,
    MethodDescriptor,
    ObisCode,
    OctetString,
    RangeDescriptor,
    ReleaseRequestReason,
    ReleaseResponseReason,
    SecurityControl,
    SecurityKeys,
    ServiceError,
    SetRequestNormal,
    SetResponseNormal,
    StateError,
    Unsigned,
)
from meterkast.dlms.initiate import InitiateError, ServiceErrorType

GB_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000BC614E")
GB_CLIENT_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000000001")
GB_KEYS = SecurityKeys(bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
                       bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"))
GB_COUNTER = 0x01234567
C1 = InvokeIdAndPriority(1, True, True)
C0 = InvokeIdAndPriority(0, True, True)
CLOCK_TIME = AttributeDescriptor(ClassId.CLOCK, ObisCode(0, 0, 1, 0, 0), 2)
GB_CONFORMANCE = Conformance(0x007E1F)
GB_INITIATE = InitiateRequest(GB_CONFORMANCE, 1200)
GB_RESPONSE = InitiateResponse(Conformance(0x00501F), 500)
GB_GLO_INITIATE = CipheredApdu(0x21, SecurityControl(), GB_COUNTER, bytes.fromhex(
    "801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"))
GB_GLO_RESPONSE = CipheredApdu(0x28, SecurityControl(), GB_COUNTER, bytes.fromhex(
    "891214A0845E475714383F65BC19745CA235906525E4F3E1C893"))
CLOCK_COLUMN = CaptureObject(ClassId.CLOCK, ObisCode(0, 0, 1, 0, 0), 2, 0)


@dataclass(frozen=True)
class Vector:
    name: str
    hex: str
    source: str
    apdu: Apdu

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.hex)


VECTORS = [
    Vector("AARQ, no ciphering, lowest security", "601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0",
           "GB", AARQ(ApplicationContext.LN, user_information=GB_INITIATE)),
    Vector("AARQ, LLS password 12345678",
           "6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738"
           "BE10040E01000000065F1F0400007E1F04B0",
           "GB", AARQ(ApplicationContext.LN, None, MechanismName.LOW, b"12345678", GB_INITIATE)),
    Vector("AARQ, HLS5-GMAC, CtoS K56iVagY",
           "6036A1090607608574050801018A0207808B0760857405080205AC0A80084B35366956616759"
           "BE10040E01000000065F1F0400007E1F04B0",
           "GB", AARQ(ApplicationContext.LN, None, MechanismName.HIGH_GMAC, b"K56iVagY", GB_INITIATE)),
    Vector("AARQ, ciphered context, glo-initiate-request",
           "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A80083132333435363738"
           "BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E"
           "356855",
           "GB", AARQ(ApplicationContext.LN_CIPHERING, GB_SYSTEM_TITLE, MechanismName.LOW, b"12345678",
                      GB_GLO_INITIATE)),
    Vector("AARE, accepted", "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007",
           "GB", AARE(AssociationResult.ACCEPTED, AcseServiceUserDiagnostic.NULL, ApplicationContext.LN,
                      user_information=GB_RESPONSE)),
    Vector("AARE, application context name not supported",
           "6129A109060760857405080101A203020101A305A103020102BE10040E0800065F1F040000501F01F40007", "GB",
           AARE(AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
                ApplicationContext.LN, user_information=GB_RESPONSE)),
    Vector("AARE, DLMS version too low", "611FA109060760857405080101A203020101A305A103020101BE0604040E010601", "GB",
           AARE(AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.NO_REASON_GIVEN, ApplicationContext.LN,
                user_information=ConfirmedServiceError(ServiceErrorType.INITIATE, InitiateError.DLMS_VERSION_TOO_LOW))),
    Vector("AARE, HLS5 accepted with StoC P6wRJ21F",
           "6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146"
           "BE10040E0800065F1F040000501F01F40007",
           "GB", AARE(AssociationResult.ACCEPTED, AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
                      ApplicationContext.LN, None, MechanismName.HIGH_GMAC, b"P6wRJ21F", GB_RESPONSE)),
    Vector("RLRQ, normal", "6203800100", "GB", RLRQ(ReleaseRequestReason.NORMAL)),
    Vector("RLRQ with ciphered InitiateRequest",
           "6239800100BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39"
           "EE6FDB8E356855", "GB", RLRQ(ReleaseRequestReason.NORMAL, GB_GLO_INITIATE)),
    Vector("RLRE, normal", "6303800100", "GB", RLRE(ReleaseResponseReason.NORMAL)),
    Vector("RLRE with InitiateResponse", "6316800100BE11040F0801000 65F1F0400001E1D04C80007".replace(" ", ""), "GB",
           RLRE(ReleaseResponseReason.NORMAL, InitiateResponse(Conformance(0x001E1D), 1224, quality_of_service=0))),
    Vector("RLRE with ciphered InitiateResponse",
           "6328800100BE230421281F3001234567891214A0845E475714383F65BC19745CA235906525E4F3E1C893", "GB",
           RLRE(ReleaseResponseReason.NORMAL, GB_GLO_RESPONSE)),
    Vector("InitiateRequest with dedicated key", "01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0", "GB",
           InitiateRequest(GB_CONFORMANCE, 1200, dedicated_key=bytes.fromhex("00112233445566778899AABBCCDDEEFF"))),
    Vector("glo-get-request (Green Book GCM example)",
           "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", "GB",
           CipheredApdu(0xC8, SecurityControl(), GB_COUNTER,
                        bytes.fromhex("411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"))),
    Vector("GET normal, 0-0:43.1.0.255 value", "C001C1000100002B0100FF0200", "DC",
           GetRequestNormal(AttributeDescriptor(ClassId.DATA, ObisCode(0, 0, 43, 1, 0), 2), None, C1)),
    Vector("GET next, block 1", "C002C100000001", "DC", GetRequestNext(1, C1)),
    Vector("GET with list", "C003C102000100002A0000FF0200000800000100 00FF0200".replace(" ", ""), "DC",
           GetRequestWithList((AttributeWithSelection(AttributeDescriptor(ClassId.DATA, ObisCode(0, 0, 42, 0, 0), 2)),
                               AttributeWithSelection(CLOCK_TIME)), C1)),
    Vector("GET profile 1-0:99.1.0 with range_descriptor",
           "C001C100070100630100FF0201010204020412000809060000010000FF0F02120000090C07E10A0107000000 00FFC480"
           "090C07E10A010701000000FFC4800100".replace(" ", ""), "DC",
           GetRequestNormal(AttributeDescriptor(ClassId.PROFILE_GENERIC, ObisCode(1, 0, 99, 1, 0), 2), RangeDescriptor(
               CLOCK_COLUMN, OctetString(bytes.fromhex("07E10A0107000000 00FFC480".replace(" ", ""))),
               OctetString(bytes.fromhex("07E10A010701000000FFC480"))), C1)),
    Vector("GET profile with entry_descriptor, entries 1..10, all columns",
           "C001C100070000180300FF0201020204060000000106" "0000000A" "120001" "120000",
           "MK", GetRequestNormal(AttributeDescriptor(ClassId.PROFILE_GENERIC, ObisCode(0, 0, 24, 3, 0), 2),
                                  EntryDescriptor(1, 10, 1, 0), C1)),
    Vector("GET response normal, 5009", "C401C1000600001391", "DC", GetResponseNormal(DoubleLongUnsigned(5009), C1)),
    Vector("GET response normal, hardware-fault", "C401C10101", "DC",
           GetResponseNormal(DataAccessResult.HARDWARE_FAULT, C1)),
    Vector("GET response with datablock, last, error", "C402C101000000020113", "MK",
           GetResponseWithDatablock(True, 2, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, C1)),
    Vector("GET response with datablock, first of two", "C402C1000000000100030102 03".replace(" ", ""), "MK",
           GetResponseWithDatablock(False, 1, bytes.fromhex("010203"), C1)),
    Vector("GET response with list", "C403C1020006000013910103", "MK",
           GetResponseWithList((DoubleLongUnsigned(5009), DataAccessResult.READ_WRITE_DENIED), C1)),
    Vector("SET normal, unsigned 5", "C101C1000100002B0100FF02001105", "MK",
           SetRequestNormal(AttributeDescriptor(ClassId.DATA, ObisCode(0, 0, 43, 1, 0), 2), Unsigned(5), None, C1)),
    Vector("SET response normal, success", "C501C100", "MK", SetResponseNormal(DataAccessResult.SUCCESS, C1)),
    Vector("ACTION reply_to_HLS_authentication",
           "C301C0000F0000280000FF010109111000001A90E6D2221FA2FD85EED61ACC22", "DC",
           ActionRequestNormal(MethodDescriptor(ClassId.ASSOCIATION_LN, ObisCode(0, 0, 40, 0, 0), 1),
                               OctetString(bytes.fromhex("1000001A90E6D2221FA2FD85EED61ACC22")), C0)),
    Vector("ACTION without parameters", "C301C0000F0000280000FF0100", "DC",
           ActionRequestNormal(MethodDescriptor(ClassId.ASSOCIATION_LN, ObisCode(0, 0, 40, 0, 0), 1), None, C0)),
    Vector("ACTION response, success", "C701C00000", "DC", ActionResponseNormal(ActionResult.SUCCESS, None, C0)),
    Vector("ACTION response with f(CtoS)", "C701C000010009111000001AFDE8857B728A3499106AA665D1", "DC",
           ActionResponseNormal(ActionResult.SUCCESS, OctetString(bytes.fromhex("1000001AFDE8857B728A3499106AA665D1")),
                                C0)),
    Vector("ACTION response with error", "C701C0000101FA", "DC",
           ActionResponseNormal(ActionResult.SUCCESS, DataAccessResult.OTHER_REASON, C0)),
    Vector("exception-response, service not supported", "D80102", "MK",
           ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.SERVICE_NOT_SUPPORTED)),
    Vector("exception-response, invocation counter error", "D8010600000010", "MK",
           ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, 16)),
]

# date-time octet strings and the aware datetimes they stand for (DC ``test_time.py``; deviation -120 = UTC+2)
DATE_TIMES = [
    ("07E40101FF00030000FF88FF", dt.datetime(2020, 1, 1, 0, 3, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("07E40106FF00030000FFC4FF", dt.datetime(2020, 1, 6, 0, 3, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
]
