from __future__ import annotations

import logging
import re

# WebSocket clients pass their access token as ?token=; signed media URLs carry their
# signature in the query (s= here, X-Amz-* from S3, Signature= from S3's older scheme).
TOKEN_IN_URL = re.compile(
    r"([?&](?:token|access_token|refresh_token|s|sig|signature|x-amz-signature"
    r"|x-amz-credential|x-amz-security-token|awsaccesskeyid)=)[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return TOKEN_IN_URL.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Removes tokens from URLs in log lines, keeping the record's shape for any formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
