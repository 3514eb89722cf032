"""How the P3 client reads the meter's refusals and block transfers (IEC 62056-5-3; DSMR P3 §2.1, §3.5).

A rejected AARE becomes ``AuthenticationError`` (diagnostic authentication-failure: wrong keys or client
system title) or ``CommandRefused`` with the ACSE diagnostic and the xDLMS initiate error; an
exception-response becomes ``CommandRefused`` naming its state-error and service-error. A GET-with-list
answer sent in blocks is the encoded SEQUENCE OF Get-Data-Result; its blocks must come numbered 1, 2, ….
"""

from __future__ import annotations

from meterkast.dlms import (
    AARE,
    AcseServiceUserDiagnostic,
    ConfirmedServiceError,
    DataAccessResult,
    ExceptionResponse,
    GetResponseWithDatablock,
)
from meterkast.dlms.reader import Reader
from meterkast.dlms.security import describe_system_title
from meterkast.dlms.service_common import GetDataResult, read_count, read_get_data_result
from meterkast.errors import AuthenticationError, CodecError, CommandRefused


def check_listed_block(block: GetResponseWithDatablock, expected: int) -> None:
    if block.block_number != expected:
        raise CodecError(f"block {block.block_number} out of sequence: expected block {expected}")
    if isinstance(block.raw_data, DataAccessResult):
        raise CodecError(f"the meter ended the block transfer at block {expected}: {block.raw_data.name}")


def listed_results(raw: bytes) -> tuple[GetDataResult, ...]:
    reader = Reader(raw)
    results = tuple(read_get_data_result(reader) for _ in range(read_count(reader, "result count")))
    reader.expect_end("get-response-with-list blocks")
    return results


def exception_error(reply: ExceptionResponse) -> CommandRefused:
    return CommandRefused(f"the meter answered with an exception-response: {reply.state_error.name}, "
                          f"{reply.service_error.name}")


def refusal_error(aare: AARE, expected_title: bytes | None) -> Exception:
    title = aare.responding_ap_title or expected_title
    who = "the E-meter" if title is None else f"the E-meter ({describe_system_title(title)})"
    extra = ""
    if isinstance(aare.user_information, ConfirmedServiceError):
        extra = f", initiate error {aare.user_information.value}"
    diagnostic = aare.result_source_diagnostic
    if diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE:
        return AuthenticationError(f"{who} refused the association: authentication-failure; check the global "
                                   f"encryption and authentication keys and the client system title, and that "
                                   f"the invocation counter is above every one used before with these keys")
    return CommandRefused(f"{who} refused the association: {diagnostic.name}{extra}")
