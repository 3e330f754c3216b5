"""Every error a user can meet has a Finnish and an English text."""

import pytest

from shared import errors
from shared.i18n import ERRORS, TEXTS, error_text, t

ERROR_CLASSES = [
    errors.KantaError,
    errors.PermissionDenied,
    errors.InvalidInput,
    errors.NotFound,
    errors.Conflict,
    errors.Unavailable,
]


@pytest.mark.parametrize("cls", ERROR_CLASSES)
def test_each_error_class_has_a_text_in_both_languages(cls):
    assert set(ERRORS[cls.default_code]) == {"fi", "en"}
    assert error_text(cls(), "fi") != error_text(cls(), "en")


def test_an_unknown_code_falls_back_to_its_class_text():
    err = errors.Conflict("some_future_code")
    assert error_text(err, "en") == ERRORS["conflict"]["en"]
    assert error_text(err, "fi") == ERRORS["conflict"]["fi"]


def test_every_text_has_both_languages():
    for table in (ERRORS, TEXTS):
        for key, entry in table.items():
            assert set(entry) == {"fi", "en"}, key
            assert all(v.strip() for v in entry.values()), key


def test_sqlstates_map_to_typed_errors():
    assert isinstance(errors.from_sqlstate("KA409", "slug_taken"), errors.Conflict)
    assert errors.from_sqlstate("KA409", "slug_taken").code == "slug_taken"
    # A message that is not a code (e.g. raw text) never becomes one.
    assert errors.from_sqlstate("KA422", "Robert'); drop table").code == "invalid_input"
    assert isinstance(errors.from_sqlstate("22P02"), errors.InvalidInput)
    assert isinstance(errors.from_sqlstate("57P01"), errors.Unavailable)
    assert errors.from_sqlstate("40001").retryable
    assert isinstance(errors.from_postgrest("PGRST301"), errors.PermissionDenied)
    assert t("tagline", "en") == "The regular customer's wallet"
