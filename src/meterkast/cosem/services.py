"""GET, SET and ACTION against the E-meter's object table, for one association (DSMR P3 §2.1–§2.2, §3.5;
IEC 62056-5-3 xDLMS services).

Rules this module keeps:
- a service the association did not negotiate (conformance block) is answered with an exception-response
  (state-error service-not-allowed, service-error service-not-supported): the public client has only GET,
  block transfer with GET and selective access (P3 §2.1.1);
- access is decided here and only here, in this order: object unknown → ``object-undefined``; class id
  differs → ``object-class-inconsistent``; attribute/method unknown → ``object-undefined``; no R/W/X for
  this client → ``read-write-denied`` (P3 §2.2: "not considered a protocol error"); object not available
  now (an M-Bus channel that never had a device) → ``object-unavailable``;
- "A GetRequest-WithList shall be executed as far as possible and the response shall contain a list of all
  available information and an error for the missing objects" (P3 §3.5); at most 16 references (§2.1.3);
- a response that does not fit the client's max receive PDU is sent with block transfer ("Block transfer
  with Get", P3 §2.1): the encoded Data (or, for with-list, the encoded SEQUENCE OF Get-Data-Result) cut by
  ``split_into_blocks``; Get-Request-Next must name the block just sent (else ``data-block-number-invalid``
  and the transfer ends); any other request ends a transfer in progress. SET with blocks is reassembled the
  same way (``Set-Request-With-First-Datablock`` / ``-With-Datablock``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeGuard

from meterkast.cosem.access import Access, AttributeSpec, CosemObject, Ctx, ObjectModel
from meterkast.dlms import (
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    AttributeDescriptor,
    Conformance,
    DataAccessResult,
    DlmsData,
    ExceptionResponse,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InvokeIdAndPriority,
    MethodDescriptor,
    ObisCode,
    ServiceError,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
    SetResponseWithList,
    StateError,
    decode_data,
    encode_apdu,
    split_into_blocks,
)
from meterkast.dlms.cosem import SelectiveAccess
from meterkast.dlms.reader import encode_length
from meterkast.dlms.service_common import GetDataResult, ServiceApdu, encode_get_data_result
from meterkast.errors import CodecError

MAX_LIST_REFERENCES = 16  # P3 §2.1.3
DATABLOCK_OVERHEAD = 12  # C4 02 invoke last block-number(4) choice length(≤3)
Request = (GetRequestNormal | GetRequestNext | GetRequestWithList | SetRequestNormal | SetRequestWithFirstDatablock
           | SetRequestWithDatablock | SetRequestWithList | ActionRequestNormal)
REQUEST_TYPES: tuple[type, ...] = (
    GetRequestNormal, GetRequestNext, GetRequestWithList, SetRequestNormal, SetRequestWithFirstDatablock,
    SetRequestWithDatablock, SetRequestWithList, ActionRequestNormal,
)
Response = ServiceApdu | ExceptionResponse


def is_request(apdu: object) -> TypeGuard[Request]:
    """A GET, SET or ACTION request this server serves."""
    return isinstance(apdu, REQUEST_TYPES)
C = Conformance
# The conformance bits a request needs (P3 §2.1; Green Book conformance block).
_NEEDS: dict[type, Conformance] = {
    GetRequestNormal: C.GET, GetRequestNext: C.GET | C.BLOCK_TRANSFER_WITH_GET_OR_READ,
    GetRequestWithList: C.GET | C.MULTIPLE_REFERENCES, SetRequestNormal: C.SET,
    SetRequestWithFirstDatablock: C.SET | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE,
    SetRequestWithDatablock: C.SET | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE,
    SetRequestWithList: C.SET | C.MULTIPLE_REFERENCES, ActionRequestNormal: C.ACTION,
}
NOT_SUPPORTED = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.SERVICE_NOT_SUPPORTED)
TOO_MANY = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE)


@dataclass(slots=True)
class _LongSet:
    attribute: AttributeDescriptor
    access: SelectiveAccess | None
    parts: list[bytes] = field(default_factory=list)


def _lookup(model: ObjectModel, class_id: int, instance: ObisCode) -> CosemObject | DataAccessResult:
    obj = model.get(instance)
    if obj is None:
        return DataAccessResult.OBJECT_UNDEFINED
    if obj.class_id != class_id:
        return DataAccessResult.OBJECT_CLASS_INCONSISTENT
    return obj


class Services:
    """The xDLMS server side of one association: stateless except for a long GET or SET in progress."""

    def __init__(self, model: ObjectModel, ctx: Ctx, max_response: int) -> None:
        self.model = model
        self.ctx = ctx
        self.max_response = max_response  # bytes of plain APDU that fit the client's PDU after ciphering
        self._blocks: list[GetResponseWithDatablock] = []
        self._sent = 0
        self._long_set: _LongSet | None = None
        self._handlers: dict[type, Callable[[object], Response]] = {
            GetRequestNormal: self._get, GetRequestNext: self._get_next, GetRequestWithList: self._get_list,
            SetRequestNormal: self._set, SetRequestWithFirstDatablock: self._set_first,
            SetRequestWithDatablock: self._set_block, SetRequestWithList: self._set_list,
            ActionRequestNormal: self._action,
        }

    def serve(self, request: Request) -> Response:
        needs = _NEEDS[type(request)]
        if (isinstance(request, GetRequestNormal) and request.access is not None) or (
                isinstance(request, GetRequestWithList) and any(a.access for a in request.attributes)):
            needs |= Conformance.SELECTIVE_ACCESS
        if needs & ~self.ctx.conformance:
            return NOT_SUPPORTED
        if not isinstance(request, GetRequestNext):
            self._blocks, self._sent = [], 0  # any other request ends a long GET
        if not isinstance(request, SetRequestWithDatablock):
            self._long_set = None
        return self._handlers[type(request)](request)

    # -- access ----------------------------------------------------------------------------------------

    def _attribute(self, attribute: AttributeDescriptor, need: Access) -> AttributeSpec | DataAccessResult:
        """The attribute's spec if this client may ``need`` it now, else the refusal (module docstring)."""
        found = _lookup(self.model, attribute.class_id, attribute.instance)
        if isinstance(found, DataAccessResult):
            return found
        spec = found.attribute(attribute.attribute_id)
        if spec is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if not spec.rights.of(self.ctx.client) & need:
            return DataAccessResult.READ_WRITE_DENIED
        if found.available is not None and not found.available(self.ctx):
            return DataAccessResult.OBJECT_UNAVAILABLE
        return spec

    def read(self, attribute: AttributeDescriptor, access: SelectiveAccess | None) -> GetDataResult:
        spec = self._attribute(attribute, Access.READ)
        if isinstance(spec, DataAccessResult):
            return spec
        if spec.get is None:
            return DataAccessResult.READ_WRITE_DENIED
        if access is None:
            return spec.get(self.ctx)
        if spec.select is None:
            return DataAccessResult.OTHER_REASON  # selective access is defined for profile buffers only
        return spec.select(self.ctx, access)

    def write(self, attribute: AttributeDescriptor, access: SelectiveAccess | None,
              value: DlmsData) -> DataAccessResult:
        spec = self._attribute(attribute, Access.WRITE)
        if isinstance(spec, DataAccessResult):
            return spec
        if spec.set is None:
            return DataAccessResult.READ_WRITE_DENIED
        if access is not None:
            return DataAccessResult.OTHER_REASON
        return spec.set(self.ctx, value)

    def invoke(self, descriptor: MethodDescriptor, parameters: DlmsData | None) -> tuple[ActionResult,
                                                                                          DlmsData | None]:
        found = _lookup(self.model, descriptor.class_id, descriptor.instance)
        if isinstance(found, DataAccessResult):
            return ActionResult(int(found)), None  # same codes: object-undefined, object-class-inconsistent
        spec = found.method(descriptor.method_id)
        if spec is None:
            return ActionResult.OBJECT_UNDEFINED, None
        if not spec.allowed(self.ctx.client) or spec.invoke is None:
            return ActionResult.READ_WRITE_DENIED, None
        if found.available is not None and not found.available(self.ctx):
            return ActionResult.OBJECT_UNAVAILABLE, None
        return spec.invoke(self.ctx, parameters)

    # -- GET ------------------------------------------------------------------------------------------

    def _fits(self, response: ServiceApdu) -> bool:
        return len(encode_apdu(response)) <= self.max_response

    def _start_blocks(self, raw: bytes, invoke: InvokeIdAndPriority) -> GetResponseWithDatablock:
        self._blocks = split_into_blocks(raw, max(1, self.max_response - DATABLOCK_OVERHEAD), invoke)
        self._sent = 1
        return self._blocks[0]

    def _get(self, request: object) -> Response:
        assert isinstance(request, GetRequestNormal)
        result = self.read(request.attribute, request.access)
        response = GetResponseNormal(result, request.invoke)
        if self._fits(response) or isinstance(result, DataAccessResult):
            return response
        return self._start_blocks(encode_get_data_result(result)[1:], request.invoke)

    def _get_list(self, request: object) -> Response:
        assert isinstance(request, GetRequestWithList)
        if len(request.attributes) > MAX_LIST_REFERENCES:
            return TOO_MANY
        results = tuple(self.read(item.attribute, item.access) for item in request.attributes)
        response = GetResponseWithList(results, request.invoke)
        if self._fits(response):
            return response
        raw = encode_length(len(results)) + b"".join(encode_get_data_result(r) for r in results)
        return self._start_blocks(raw, request.invoke)

    def _get_next(self, request: object) -> Response:
        assert isinstance(request, GetRequestNext)
        if not self._blocks:
            return GetResponseWithDatablock(True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS,
                                            request.invoke)
        if request.block_number != self._sent or self._sent >= len(self._blocks):
            self._blocks, self._sent = [], 0
            return GetResponseWithDatablock(True, request.block_number, DataAccessResult.DATA_BLOCK_NUMBER_INVALID,
                                            request.invoke)
        block = self._blocks[self._sent]
        self._sent += 1
        if block.last_block:
            self._blocks, self._sent = [], 0
        return GetResponseWithDatablock(block.last_block, block.block_number, block.raw_data, request.invoke)

    # -- SET ------------------------------------------------------------------------------------------

    def _set(self, request: object) -> Response:
        assert isinstance(request, SetRequestNormal)
        return SetResponseNormal(self.write(request.attribute, request.access, request.value), request.invoke)

    def _set_list(self, request: object) -> Response:
        assert isinstance(request, SetRequestWithList)
        if len(request.attributes) > MAX_LIST_REFERENCES:
            return TOO_MANY
        return SetResponseWithList(tuple(self.write(item.attribute, item.access, value) for item, value
                                         in zip(request.attributes, request.values, strict=True)), request.invoke)

    def _set_first(self, request: object) -> Response:
        assert isinstance(request, SetRequestWithFirstDatablock)
        self._long_set = _LongSet(request.attribute, request.access)
        return self._continue_set(request.block.block_number, request.block.last_block, request.block.raw_data,
                                  request.invoke, first=True)

    def _set_block(self, request: object) -> Response:
        assert isinstance(request, SetRequestWithDatablock)
        return self._continue_set(request.block.block_number, request.block.last_block, request.block.raw_data,
                                  request.invoke, first=False)

    def _continue_set(self, number: int, last: bool, raw: bytes, invoke: InvokeIdAndPriority, *,
                      first: bool) -> Response:
        pending = self._long_set
        if pending is None:
            return SetResponseLastDatablock(DataAccessResult.NO_LONG_SET_IN_PROGRESS, number, invoke)
        if number != len(pending.parts) + 1:
            self._long_set = None
            return SetResponseLastDatablock(DataAccessResult.DATA_BLOCK_NUMBER_INVALID, number, invoke)
        pending.parts.append(raw)
        if not last:
            return SetResponseDatablock(number, invoke)
        self._long_set = None
        try:
            value = decode_data(b"".join(pending.parts))
        except CodecError:
            return SetResponseLastDatablock(DataAccessResult.TYPE_UNMATCHED, number, invoke)
        return SetResponseLastDatablock(self.write(pending.attribute, pending.access, value), number, invoke)

    # -- ACTION ---------------------------------------------------------------------------------------

    def _action(self, request: object) -> Response:
        assert isinstance(request, ActionRequestNormal)
        result, data = self.invoke(request.method, request.parameters)
        return ActionResponseNormal(result, data, request.invoke)
