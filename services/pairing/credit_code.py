"""The unified social credit code (统一社会信用代码) and its check character, per GB 32100-2015."""

from __future__ import annotations

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(_CHARSET.index(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, or None when it is."""
    if len(code) != 18:
        return "a unified social credit code has 18 characters"
    bad = sorted({ch for ch in code if ch not in _CHARSET})
    if bad:
        return f"characters not allowed in a credit code: {''.join(bad)}"
    if not code[2:8].isdigit():
        return "characters 3 to 8 of a credit code are the registering division's 6-digit code"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"the check character should be {expected}, not {code[17]}"
    return None
