"""Checking X12 text with pyx12, called from Python (its CLI's exit codes are unreliable).

pyx12 checks syntax, loops, segment counts and code values against the
implementation guide's map; it does not check money or NPIs, so `own_checks`
does: each CLM02 is the sum of its SV102s, every NPI carries a valid check
digit, and the control numbers of each envelope agree.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from decimal import Decimal

from billing.codes import npi_is_valid


def _silenced() -> logging.Logger:
    logger = logging.getLogger("pyx12")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    return logger


def _collect(node: object, where: str, found: list[str]) -> None:
    if isinstance(node, dict):
        label = (
            node.get("seg_id")
            or node.get("trn_set_id")
            or node.get("gs_control_num")
            or ""
        )
        here = f"{where}/{label}" if label else where
        if node.get("cur_line") is not None:
            here += f"@{node['cur_line']}"
        for error in node.get("errors") or []:
            found.append(
                f"{here}: {error.get('err_cde')} {error.get('err_str')}"
                + (f" ({error['err_val']})" if error.get("err_val") else "")
            )
        for key, value in node.items():
            if key != "errors" and isinstance(value, (list, dict)):
                _collect(value, here, found)
    elif isinstance(node, list):
        for item in node:
            _collect(item, where, found)


def pyx12_errors(text: str) -> list[str]:
    """Every error pyx12's x12n_document finds in `text`; empty means valid."""
    import pyx12.params
    import pyx12.x12n_document

    _silenced()
    params = pyx12.params.params()
    report = io.StringIO()
    # x12n_document reads a path or a file object; a file keeps big batches out
    # of a second in-memory copy.
    with tempfile.NamedTemporaryFile("w", suffix=".x12", delete=False) as handle:
        handle.write(text)
        path = handle.name
    try:
        valid = pyx12.x12n_document.x12n_document(
            params, path, None, None, fd_json=report
        )
    except Exception as exc:  # pyx12 raises on files it cannot map at all
        return [f"pyx12 could not read the file: {exc}"]
    finally:
        os.unlink(path)
    found: list[str] = []
    raw = report.getvalue()
    if raw:
        _collect(json.loads(raw), "", found)
    if not valid and not found:
        found.append("pyx12 reported the file invalid.")
    return found


def segments_of(text: str) -> list[list[str]]:
    """Split X12 text (with this project's delimiters) into elements per segment."""
    element = text[3] if text.startswith("ISA") else "*"
    return [s.strip().split(element) for s in text.split("~") if s.strip()]


def own_checks(text: str) -> list[str]:
    """What pyx12 leaves unchecked: money that adds up, NPI check digits, controls."""
    problems: list[str] = []
    claim_id, claim_total, line_sum = None, Decimal(0), Decimal(0)

    def close_claim() -> None:
        if claim_id is not None and claim_total != line_sum:
            problems.append(
                f"CLM {claim_id}: CLM02 {claim_total} is not the sum of its "
                f"lines {line_sum}."
            )

    isa = gs = st = None
    count = 0
    for seg in segments_of(text):
        sid = seg[0]
        count += 1
        if sid == "ISA":
            isa = seg[13]
        elif sid == "IEA" and seg[2] != isa:
            problems.append(f"IEA02 {seg[2]} does not match ISA13 {isa}.")
        elif sid == "GS":
            gs = seg[6]
        elif sid == "GE" and seg[2] != gs:
            problems.append(f"GE02 {seg[2]} does not match GS06 {gs}.")
        elif sid == "ST":
            st, count = seg[2], 1
        elif sid == "SE":
            close_claim()
            claim_id = None
            if seg[2] != st:
                problems.append(f"SE02 {seg[2]} does not match ST02 {st}.")
            if int(seg[1]) != count:
                problems.append(
                    f"SE01 says {seg[1]} segments; the transaction has {count}."
                )
        elif sid == "CLM":
            close_claim()
            claim_id, claim_total, line_sum = seg[1], Decimal(seg[2]), Decimal(0)
        elif sid == "SV1":
            line_sum += Decimal(seg[2])
        elif (
            sid == "NM1"
            and len(seg) > 9
            and seg[8] == "XX"
            and not npi_is_valid(seg[9])
        ):
            problems.append(f"NM1*{seg[1]}: NPI {seg[9]} has a wrong check digit.")
    return problems
