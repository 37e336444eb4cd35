#!/usr/bin/python3
"""Print an HS256 JWT that tests/peers/netra_peer.py accepts (or, on purpose, rejects).

The netra peer authenticates with a JWT carried as the WebSocket subprotocol
`jwt.<token>`; end-to-end tests need fresh tokens without a JWT library, so this
mints one with the standard library only. Importable: `mint(secret, lifetime_s)`.

  /usr/bin/python3 tests/peers/mint_jwt.py                    # default secret, valid 1 h
  /usr/bin/python3 tests/peers/mint_jwt.py --secret s3cret --lifetime 60
  /usr/bin/python3 tests/peers/mint_jwt.py --lifetime -60     # already expired
  /usr/bin/python3 tests/peers/mint_jwt.py --secret wrong     # bad signature for the peer

The secret defaults to $NETRA_JWT_SECRET, else "agentrig-test-secret" (the peer's default).
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time

DEFAULT_SECRET = "agentrig-test-secret"


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def mint(secret, lifetime_s=3600, subject="agentrig"):
    """Return a compact HS256 JWT with sub, iat and exp = now + lifetime_s."""
    now = int(time.time())
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = _b64url(json.dumps({"sub": subject, "iat": now, "exp": now + int(lifetime_s)},
                                separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{header}.{claims}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64url(sig)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--secret", default=os.environ.get("NETRA_JWT_SECRET", DEFAULT_SECRET))
    ap.add_argument("--lifetime", type=int, default=3600,
                    help="seconds until exp (negative: already expired; default 3600)")
    ap.add_argument("--subject", default="agentrig")
    args = ap.parse_args()
    print(mint(args.secret, args.lifetime, args.subject))
    return 0


if __name__ == "__main__":
    sys.exit(main())
