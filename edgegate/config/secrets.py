"""Secrets in the config: the console password is stored as a PBKDF2-SHA256 hash, never in clear.

Format: ``pbkdf2-sha256$ITERATIONS$SALT_B64$HASH_B64``. Redaction replaces every
secret-bearing field with ``"<hashed>"`` before a document is shown anywhere.
"""

import binascii

from edgegate import rt

PREFIX = "pbkdf2-sha256"
DEFAULT_ITERATIONS = 100000
MIN_PASSWORD_CHARS = 8
REDACTED = "<hashed>"
# Paths (as tuples with None for "any index") whose values are secrets.
SECRET_PATHS = (("console", "password_hash"),)


def _b64(b):
    return binascii.b2a_base64(b).strip().decode()


def hash_password(password, salt=None, iterations=DEFAULT_ITERATIONS):
    """The stored form of ``password`` (str)."""
    if salt is None:
        salt = rt.rand_bytes(16)
    digest = rt.pbkdf2_sha256(password.encode("utf-8"), salt, iterations)
    return "%s$%d$%s$%s" % (PREFIX, iterations, _b64(salt), _b64(digest))


def parse_hash(stored):
    """(iterations, salt, digest) of a stored hash, or raise ValueError."""
    parts = stored.split("$") if isinstance(stored, str) else []
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit():
        raise ValueError("not a %s$ITERATIONS$SALT$HASH string" % PREFIX)
    iterations = int(parts[1])
    if not 1000 <= iterations <= 10000000:
        raise ValueError("iterations must be from 1000 to 10000000")
    try:
        salt = binascii.a2b_base64(parts[2])
        digest = binascii.a2b_base64(parts[3])
    except ValueError:  # binascii.Error is a ValueError; MicroPython has no binascii.Error
        raise ValueError("salt or hash is not base64") from None
    if len(salt) < 8 or len(digest) != 32:
        raise ValueError("salt under 8 bytes or hash not 32 bytes")
    return iterations, salt, digest


def check_password(password, stored):
    """True if ``password`` matches ``stored``; the comparison is constant-time."""
    try:
        iterations, salt, digest = parse_hash(stored)
    except ValueError:
        return False
    return rt.const_eq(rt.pbkdf2_sha256(password.encode("utf-8"), salt, iterations), digest)


def redact(doc):
    """A deep copy of ``doc`` with every secret replaced by ``<hashed>``."""
    out = rt.json_loads(rt.json_dumps(doc))
    for path in SECRET_PATHS:
        node = out
        for p in path[:-1]:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = REDACTED
    return out


def is_secret(path_text):
    for path in SECRET_PATHS:
        if path_text == ".".join(path):
            return True
    return False
