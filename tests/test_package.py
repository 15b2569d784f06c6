"""The installed package imports and its compiled core is present."""
import pcstream


def test_core_imports():
    from pcstream import _core

    assert _core.__doc__


def test_error_codes_map_to_exceptions():
    from pcstream import errors

    exc = errors.from_code(1, "short", 10)
    assert isinstance(exc, errors.TruncatedError) and exc.offset == 10
    assert isinstance(errors.from_code(41, "x"), ValueError)
    assert pcstream.__version__
