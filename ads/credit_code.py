"""The unified social credit code (统一社会信用代码) of GB 32100-2015: 18 characters, the last a check character."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The 31 characters a code may use: digits and capitals without I, O, Z, S and V.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, ... (3^i mod 31)


def check_character(first17: str) -> str:
    """Returns the check character of the code's first 17 characters."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(code: str) -> str:
    """Returns the code in capitals without spaces (people type it in lower case or with spaces)."""
    return "".join((code or "").split()).upper()


def validate_credit_code(value: str) -> None:
    """Raises ValidationError, saying what is wrong and what to do, unless `value` is a valid code."""
    code = normalize(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(count)d. Copy it again from the "
              "business licence.") % {"count": len(code)}, code="length")
    wrong = [char for char in code if char not in ALPHABET]
    if wrong:
        raise ValidationError(
            _("“%(char)s” cannot appear in a unified social credit code (it uses digits and capital letters "
              "without I, O, Z, S and V). Check the code on the business licence.") % {"char": wrong[0]},
            code="character")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("The check character of this credit code is wrong: the last character should be “%(expected)s” "
              "for the first 17 given. One of the characters was probably mistyped; copy the code again from "
              "the business licence.") % {"expected": expected}, code="check")
