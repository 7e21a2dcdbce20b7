"""Reading an 835 remittance (005010X221A1) with pyx12's context reader.

The reader walks the implementation guide's map, so every segment comes with
its loop: a CAS in 2100 adjusts the claim, one in 2110 the service line above
it. The result is plain data; billing.services.remittances posts it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from billing.money import ZERO


class RemittanceFormatError(ValueError):
    """The file is not an 835 this project can read."""


@dataclass
class Adjustment:
    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass
class ServicePayment:
    code: str
    modifiers: list[str]
    charge: Decimal
    paid: Decimal
    units: Decimal
    line_control: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass
class ClaimPayment:
    patient_control_number: str
    status_code: str
    total_charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str
    patient_name: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    services: list[ServicePayment] = field(default_factory=list)


@dataclass
class RemittanceData:
    """One ST-SE transaction: a payment and the claims it pays."""

    payment_amount: Decimal = ZERO
    payment_method: str = ""
    payment_date: date | None = None
    trace_number: str = ""
    originator: str = ""
    payer_name: str = ""
    payer_id: str = ""
    claims: list[ClaimPayment] = field(default_factory=list)

    @property
    def payer_identifier(self) -> str:
        return self.payer_id or self.originator


def _money(text: str | None) -> Decimal:
    try:
        return Decimal(text or "0").quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise RemittanceFormatError(f"{text!r} is not an amount.") from exc


def _date(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%Y%m%d").date()
    except ValueError:
        return None


def _adjustments(node) -> list[Adjustment]:
    """CAS: a group, then up to six (reason, amount, quantity) triplets."""
    group = node.get_value("CAS01") or ""
    found = []
    for start in range(2, 20, 3):
        reason = node.get_value(f"CAS{start:02d}")
        if not reason:
            continue
        quantity = node.get_value(f"CAS{start + 2:02d}")
        found.append(
            Adjustment(
                group=group,
                reason=reason,
                amount=_money(node.get_value(f"CAS{start + 1:02d}")),
                quantity=_money(quantity) if quantity else None,
            )
        )
    return found


def parse_835(text: str) -> list[RemittanceData]:
    """The transactions of an 835 interchange, in file order."""
    import pyx12.error_handler
    import pyx12.errors
    import pyx12.params
    import pyx12.x12context

    from billing.x12.validate import _silenced

    _silenced()
    if not text.lstrip().startswith("ISA"):
        raise RemittanceFormatError(
            "This is not an X12 file (it does not start with ISA)."
        )
    reader = pyx12.x12context.X12ContextReader(
        pyx12.params.params(), pyx12.error_handler.errh_null(), io.StringIO(text)
    )
    found: list[RemittanceData] = []
    current: RemittanceData | None = None
    claim: ClaimPayment | None = None
    service: ServicePayment | None = None
    try:
        for node in reader.iter_segments():
            sid, path = node.id, node.cur_path
            if sid == "GS" and node.get_value("GS01") != "HP":
                raise RemittanceFormatError(
                    "This is not an 835 remittance (GS01 is not HP)."
                )
            if sid == "ST":
                current, claim, service = RemittanceData(), None, None
                found.append(current)
            elif current is None:
                continue
            elif sid == "BPR":
                current.payment_amount = _money(node.get_value("BPR02"))
                current.payment_method = node.get_value("BPR04") or ""
                current.payment_date = _date(node.get_value("BPR16"))
            elif sid == "TRN":
                current.trace_number = node.get_value("TRN02") or ""
                current.originator = node.get_value("TRN03") or ""
            elif sid == "N1" and "1000A" in path:
                current.payer_name = node.get_value("N102") or ""
            elif sid == "REF" and "1000A" in path and node.get_value("REF01") == "2U":
                current.payer_id = node.get_value("REF02") or ""
            elif sid == "CLP":
                claim, service = (
                    ClaimPayment(
                        patient_control_number=node.get_value("CLP01") or "",
                        status_code=node.get_value("CLP02") or "",
                        total_charge=_money(node.get_value("CLP03")),
                        paid=_money(node.get_value("CLP04")),
                        patient_responsibility=_money(node.get_value("CLP05")),
                        payer_claim_number=node.get_value("CLP07") or "",
                    ),
                    None,
                )
                current.claims.append(claim)
            elif claim is None:
                continue
            elif sid == "NM1" and node.get_value("NM101") == "QC":
                claim.patient_name = " ".join(
                    p for p in (node.get_value("NM104"), node.get_value("NM103")) if p
                )
            elif sid == "SVC":
                parts = (node.get_value("SVC01") or "").split(
                    reader.src.subele_term or ":"
                )
                service = ServicePayment(
                    code=parts[1] if len(parts) > 1 else parts[0],
                    modifiers=parts[2:6],
                    charge=_money(node.get_value("SVC02")),
                    paid=_money(node.get_value("SVC03")),
                    units=_money(node.get_value("SVC05") or "1"),
                )
                claim.services.append(service)
            elif sid == "CAS":
                target = service if (service is not None and "2110" in path) else claim
                target.adjustments.extend(_adjustments(node))
            elif (
                sid == "REF" and service is not None and node.get_value("REF01") == "6R"
            ):
                service.line_control = node.get_value("REF02") or ""
    except pyx12.errors.X12Error as exc:
        raise RemittanceFormatError(f"The 835 cannot be read: {exc}") from exc
    finally:
        reader.close()
    return found
