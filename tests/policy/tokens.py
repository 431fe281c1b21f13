"""JWTs for the portable tests: fixed strings minted once, offline, by PyJWT 2.x.

MicroPython has no PyJWT, so the tokens are constants; every one was made by
the script below (python -W ignore, PyJWT 2.15) and its claims are fixed
relative to ``NOW``, the tests' clock (``now_s``). HS256 only, except where
a test is about another HMAC alg. Minted with::

    import jwt, warnings
    warnings.simplefilter("ignore")
    NOW = 1800000000
    S1 = b"portable-secret-one-0123456789abcdef"
    S2 = b"portable-secret-two-0123456789abcdef"
    S3 = b"portable-secret-three-0123456789abcdef0123456789"
    SLONG = bytes(range(100))
    base = {"sub": "alice", "iss": "https://id.test", "aud": "edge", "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 600}
    def drop(k):
        return {a: b for a, b in base.items() if a != k}
    def tok(claims=None, key=S1, alg="HS256", headers={"kid": "k1"}, **over):
        c = dict(base if claims is None else claims); c.update(over)
        return jwt.encode(c, key, algorithm=alg, headers=headers)
    T = [
     ("VALID", "sub alice, iss/aud right, nbf NOW-60, exp NOW+600; kid k1", tok()),
     ("BOB", "as VALID, sub bob", tok(sub="bob")),
     ("EXPIRED", "exp NOW-100", tok(exp=NOW - 100)),
     ("EXP_10S_AGO", "exp NOW-10 (inside a 30 s leeway)", tok(exp=NOW - 10)),
     ("EXP_NOW", "exp NOW (expired at NOW without leeway)", tok(exp=NOW)),
     ("NBF_FUTURE", "nbf NOW+100", tok(nbf=NOW + 100)),
     ("NBF_10S_AHEAD", "nbf NOW+10 (inside a 30 s leeway)", tok(nbf=NOW + 10)),
     ("WRONG_ISS", "iss https://evil.test", tok(iss="https://evil.test")),
     ("NO_ISS", "no iss claim", tok(claims=drop("iss"))),
     ("WRONG_AUD", "aud other", tok(aud="other")),
     ("AUD_LIST", "aud [other, edge]", tok(aud=["other", "edge"])),
     ("AUD_LIST_WITHOUT", "aud [other, third]", tok(aud=["other", "third"])),
     ("NO_SUB", "no sub claim", tok(claims=drop("sub"))),
     ("NO_EXP", "no exp claim", tok(claims=drop("exp"))),
     ("EXP_STRING", 'exp "soon"', tok(exp="soon")),
     ("NBF_STRING", 'nbf "later"', tok(nbf="later")),
     ("OTHER_SECRET", "kid k1 but signed with S2 (a bad signature)", tok(key=S2)),
     ("K2", "kid k2, signed with S2", tok(key=S2, headers={"kid": "k2"})),
     ("NO_KID", "no kid, HS256 with S1", tok(headers={})),
     ("UNKNOWN_KID", "kid k9", tok(headers={"kid": "k9"})),
     ("HS512_K1", "kid k1 (pinned HS256) but alg HS512, signed HS512 with S1", tok(alg="HS512")),
     ("HS384_K3", "kid k3, HS384 with S3", tok(key=S3, alg="HS384", headers={"kid": "k3"})),
     ("CRIT", 'header crit ["exp"], otherwise VALID', tok(headers={"kid": "k1", "crit": ["exp"]})),
     ("LONG_SECRET", "kid long, HS256 with the 100-byte SLONG (HMAC hashes the key first)",
      tok(key=SLONG, headers={"kid": "long"})),
     ("PAYLOAD_NOT_JSON", "payload b'not json', signed with S1",
      jwt.api_jws.encode(b"not json", S1, algorithm="HS256", headers={"kid": "k1"})),
     ("PAYLOAD_ARRAY", "payload b'[1,2]', signed with S1",
      jwt.api_jws.encode(b"[1,2]", S1, algorithm="HS256", headers={"kid": "k1"})),
     ("ALG_NONE", "alg none, kid k1, empty signature", jwt.encode(base, None, algorithm="none", headers={"kid": "k1"})),
    ]
"""

NOW = 1800000000
S1 = b"portable-secret-one-0123456789abcdef"
S2 = b"portable-secret-two-0123456789abcdef"
S3 = b"portable-secret-three-0123456789abcdef0123456789"
SLONG = bytes(range(100))

# sub alice, iss/aud right, nbf NOW-60, exp NOW+600; kid k1
VALID = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "XdGqQ9K61-3_dfDSNdIUTjK65fx5gHoANBU043OCUS4"
)

# as VALID, sub bob
BOB = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJib2IiLCJpc3MiOiJodHRwczovL2lkLnRlc3QiLCJhdWQiOiJlZGdlIiwiaWF0IjoxNzk5OTk5OTQwLCJuYmYi"
    "OjE3OTk5OTk5NDAsImV4cCI6MTgwMDAwMDYwMH0."
    "Ja8wrPQrMdPIUbLM_tTWwyV9z1kbc_LKOtbNCIBFWsc"
)

# exp NOW-100
EXPIRED = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxNzk5OTk5OTAwfQ."
    "yRGsjUDTrV2WtSWFYHGPsEmm-Gq8bj7b5hCmxYIK-Ug"
)

# exp NOW-10 (inside a 30 s leeway)
EXP_10S_AGO = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxNzk5OTk5OTkwfQ."
    "ydyMHL3Pw8EcZ0j8600Zw9RR8qR2syUimh7kzABWef4"
)

# exp NOW (expired at NOW without leeway)
EXP_NOW = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwMDAwfQ."
    "E3Sjnza2303oIEyfnhGeaBhmbbW7FOFiVakRRdbKQIk"
)

# nbf NOW+100
NBF_FUTURE = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTgwMDAwMDEwMCwiZXhwIjoxODAwMDAwNjAwfQ."
    "VIJ0MotHgygfzkZcX2IIJPCUTlvS9D2w2a9dhNIqUS8"
)

# nbf NOW+10 (inside a 30 s leeway)
NBF_10S_AHEAD = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTgwMDAwMDAxMCwiZXhwIjoxODAwMDAwNjAwfQ."
    "IPba1nYd75vfI4lJFQUYJ-rTXgtpEm9-FCfJ6riCZz4"
)

# iss https://evil.test
WRONG_ISS = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vZXZpbC50ZXN0IiwiYXVkIjoiZWRnZSIsImlhdCI6MTc5OTk5OTk0MCwi"
    "bmJmIjoxNzk5OTk5OTQwLCJleHAiOjE4MDAwMDA2MDB9."
    "UmWP_hZPj9rWdwhPkYV_SwyddOhalkWPqail0mX_2Wg"
)

# no iss claim
NO_ISS = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5iZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAw"
    "MDAwNjAwfQ."
    "iLuyGljWv4H5WXu0nCJm3D7ZUpOLrneiXmXeYgjkswM"
)

# aud other
WRONG_AUD = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6Im90aGVyIiwiaWF0IjoxNzk5OTk5OTQwLCJu"
    "YmYiOjE3OTk5OTk5NDAsImV4cCI6MTgwMDAwMDYwMH0."
    "vnDvM5xYypFOenHawRj6UHTd0o0Y3XwY_qYWTp5NqQA"
)

# aud [other, edge]
AUD_LIST = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6WyJvdGhlciIsImVkZ2UiXSwiaWF0IjoxNzk5"
    "OTk5OTQwLCJuYmYiOjE3OTk5OTk5NDAsImV4cCI6MTgwMDAwMDYwMH0."
    "YMc11xH7J4GVUuHiK06pteAs64gyXvydBYDgnyzIHfU"
)

# aud [other, third]
AUD_LIST_WITHOUT = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6WyJvdGhlciIsInRoaXJkIl0sImlhdCI6MTc5"
    "OTk5OTk0MCwibmJmIjoxNzk5OTk5OTQwLCJleHAiOjE4MDAwMDA2MDB9."
    "qpy5ZVxgazNsPHA4hB70ORblWcXDTb0PAgN8jGsxs_4"
)

# no sub claim
NO_SUB = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJpc3MiOiJodHRwczovL2lkLnRlc3QiLCJhdWQiOiJlZGdlIiwiaWF0IjoxNzk5OTk5OTQwLCJuYmYiOjE3OTk5OTk5NDAs"
    "ImV4cCI6MTgwMDAwMDYwMH0."
    "gG_ykjiazagvxF-UW7f5B8l41eedqxp9jJviiaoy_mk"
)

# no exp claim
NO_EXP = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MH0."
    "FSkBJ1lHuMTofS27K04ZFVtPzM78kpIZi-7vT5r4xgM"
)

# exp "soon"
EXP_STRING = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoic29vbiJ9."
    "pjjjOuysXWw2rUV6eyyUyGEa2zESNZ1CHRlB-xgUlH8"
)

# nbf "later"
NBF_STRING = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6ImxhdGVyIiwiZXhwIjoxODAwMDAwNjAwfQ."
    "qbJ9kk_woj_u8waqdWlxuVLgbiZGw6Zy3WpQ1Iyur_I"
)

# kid k1 but signed with S2 (a bad signature)
OTHER_SECRET = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "MITLmNoAguq5aILvlv4AUvb2repmInCr3rtI-XbJRYs"
)

# kid k2, signed with S2
K2 = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsyIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "BSS_ybkHi5mbW9y-ChSZGNdgU6A9r-c4Wufhai1NpiM"
)

# no kid, HS256 with S1
NO_KID = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "xbcKw5nE8PTt7G6tRo2QZ08IBbYGLssCDQOzrXwwAJ4"
)

# kid k9
UNKNOWN_KID = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6Ims5IiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "c_FqtEdEfWGM2cN3yoorCJfXv2Zo0S9a58yzxv56B3s"
)

# kid k1 (pinned HS256) but alg HS512, signed HS512 with S1
HS512_K1 = (
    "eyJhbGciOiJIUzUxMiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "d2NSuHxIjcBeiMg0LP70uZYzknb_Upj8SIhudDntk_asQ-ViYkwSjvCs6rvBJAkZhpJGpEYgOeQyEugRSeRL8Q"
)

# kid k3, HS384 with S3
HS384_K3 = (
    "eyJhbGciOiJIUzM4NCIsImtpZCI6ImszIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "xAhsOe7dn-8liHMASHC108AI8A_yWbG61myILTRQw5iEm0FIz1kbol7pYZ2fYjS9"
)

# header crit ["exp"], otherwise VALID
CRIT = (
    "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiZXhwIl0sImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "xGNj9WBz2qKI5uzT72DTQ5KRup051MbWH6UTJPwOajQ"
)

# kid long, HS256 with the 100-byte SLONG (HMAC hashes the key first)
LONG_SECRET = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImxvbmciLCJ0eXAiOiJKV1QifQ."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    "fMPV_8_242B8vgAHCvciRyHoBhfmQYJGPNhWw1On12U"
)

# payload b'not json', signed with S1
PAYLOAD_NOT_JSON = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "bm90IGpzb24."
    "GxXu8Ng8MjaGek8B4SouZysZAshSxQgk6M8OoMpXM0w"
)

# payload b'[1,2]', signed with S1
PAYLOAD_ARRAY = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
    "WzEsMl0."
    "NuMMg1W9n5IhULqjVWPCnUsgxN3139z-TvtqOykcrRE"
)

# alg none, kid k1, empty signature
ALG_NONE = (
    "eyJhbGciOiJub25lIiwia2lkIjoiazEiLCJ0eXAiOiJKV1QifQ."
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWQudGVzdCIsImF1ZCI6ImVkZ2UiLCJpYXQiOjE3OTk5OTk5NDAsIm5i"
    "ZiI6MTc5OTk5OTk0MCwiZXhwIjoxODAwMDAwNjAwfQ."
    ""
)
