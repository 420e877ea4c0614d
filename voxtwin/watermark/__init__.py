"""voxtwin's keyed audio watermark, one subpackage:

- spread_spectrum.py: embedding and detection (the keyed time-frequency pattern, p-values, the payload's soft bits);
- payload.py: the 64-bit payload (version, key id, day, consent, CRC-8, HMAC) and its packing;
- convcode.py: the rate-1/2 convolutional code and soft Viterbi decoding that protect the payload bits;
- keys.py: the installation key (made on first use, or `--key-file`).
"""

from voxtwin.watermark.payload import Payload
from voxtwin.watermark.spread_spectrum import (
    DETECTION_KEY,
    P_VALUE_THRESHOLD,
    SEARCH_S,
    WATERMARK_RATE,
    WatermarkResult,
    detect_watermark,
    detect_watermark_stream,
    embed,
    read_bits,
)

__all__ = [
    "DETECTION_KEY", "P_VALUE_THRESHOLD", "Payload", "SEARCH_S", "WATERMARK_RATE", "WatermarkResult",
    "detect_watermark", "detect_watermark_stream", "embed", "read_bits",
]
