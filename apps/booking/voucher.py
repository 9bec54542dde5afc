"""The voucher a patient shows at the hospital: time, department, expert, visit
number and a QR code with the voucher code that check-in scans."""

import segno

QR_PREFIX = "HPBK:"


def voucher_qr_data_url(voucher_code: str) -> str:
    """A PNG data URL (mini programs show it in an <image>, browsers in an <img>)."""
    return segno.make(QR_PREFIX + voucher_code, error="m", micro=False).png_data_uri(scale=5, border=2)


def voucher_code_from_scan(scanned: str) -> str:
    scanned = (scanned or "").strip()
    return scanned[len(QR_PREFIX):] if scanned.startswith(QR_PREFIX) else scanned
