"""`manage.py check` warns about an access code that is easy to guess, with debug off."""
import io
import re

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from calls.checks import MIN_ACCESS_CODE_LENGTH, SAMPLE_ACCESS_CODES
from tests.captures import INCOMING
from tests.test_deploy import PRODUCTION_ENV, manage


def warning_ids() -> set[str]:
    return {message.id for message in run_checks()}


def test_the_sample_codes_are_those_of_the_captures():
    assert set(re.findall(rb"access_code=(\w+)", INCOMING)) == {
        code.encode() for code in SAMPLE_ACCESS_CODES
    }


@pytest.mark.parametrize(
    "code", ["10019", "short", "x" * (MIN_ACCESS_CODE_LENGTH - 1)], ids=["sample", "5", "11"]
)
def test_a_sample_or_short_code_is_warned_about_with_debug_off(settings, code):  # noqa: ANN001
    settings.DEBUG = False
    settings.PBX_ACCESS_CODE = code

    assert "calls.W003" in warning_ids()


def test_a_long_random_code_is_not_warned_about(settings):
    settings.DEBUG = False
    settings.PBX_ACCESS_CODE = "x" * MIN_ACCESS_CODE_LENGTH

    assert "calls.W003" not in warning_ids()


def test_with_debug_on_the_sample_code_is_not_warned_about(settings):
    settings.DEBUG = True
    settings.PBX_ACCESS_CODE = "10019"

    assert "calls.W003" not in warning_ids()


def test_no_code_is_warned_about_by_w001_alone(settings):
    settings.DEBUG = False
    settings.PBX_ACCESS_CODE = ""

    assert "calls.W003" not in warning_ids()
    assert "calls.W001" in warning_ids()


def test_manage_py_check_shows_the_warning_and_what_to_do(settings):
    settings.DEBUG = False
    settings.PBX_ACCESS_CODE = "10019"
    stderr = io.StringIO()

    call_command("check", stdout=io.StringIO(), stderr=stderr)

    output = stderr.getvalue()
    assert "calls.W003" in output
    assert "sample code" in output
    assert "10019" not in output  # the check names the problem, not the secret


def test_a_production_process_with_the_sample_code_warns_and_still_starts():
    result = manage("check", **{**PRODUCTION_ENV, "PBX_ACCESS_CODE": "10019"})

    assert result.returncode == 0
    assert "calls.W003" in result.stderr


@pytest.mark.parametrize(
    "setting",
    ["PBX_THROTTLE_MINUTES=0", "PBX_THROTTLE_FAILURES=-1", "PBX_THROTTLE_JOURNAL_ROWS=-1"],
)
def test_throttle_limits_out_of_range_stop_the_process(setting):  # noqa: ANN001
    name, value = setting.split("=")

    result = manage("check", DJANGO_DEBUG="true", **{name: value})

    assert result.returncode != 0
    assert "PBX_THROTTLE_MINUTES must be at least 1" in result.stderr
