"""A `.env` is read only when asked (DJANGO_ENV_FILE): one left in the project folder, as `make
run` writes it, never turns debug on nor https off in a production process, and `manage.py
check --deploy` fails when a file read on purpose would."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.app_server import clean_environment, gunicorn
from tests.test_deploy import PRODUCTION_ENV

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT = ["xvbcrm", "calls", "contacts", "templates", "locale", "manage.py", "gunicorn.conf.py"]
# A production environment that leaves DJANGO_DEBUG to its default (off).
SERVER_ENV = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_DEBUG"}
# What `make run` writes (the Makefile's WRITE_ENV), as it could be left on a server.
MAKE_RUN_ENV = """\
DJANGO_SECRET_KEY=make-run-development-secret-key-of-fifty-or-more-characters-abcd
DJANGO_DEBUG=true
DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1
PBX_ACCESS_CODE=10019
PBX_URL=http://127.0.0.1:8001/
PBX_TOKEN=emulator-token
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:  # noqa: ANN001
    """A copy of the project (BASE_DIR is where settings.py lies) with make run's `.env`."""
    root = tmp_path_factory.mktemp("project")
    for name in PROJECT:
        source = BASE_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / ".env").write_text(MAKE_RUN_ENV, encoding="utf-8")
    return root


def manage(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`manage.py ARGS` of the copy, in a process whose environment is `env` alone."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, env=clean_environment(**env),
        capture_output=True, text=True, timeout=60,
    )


def settings_of(project: Path, **env: str) -> dict:
    names = ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "PBX_URL", "SECRET_KEY"]
    code = ("import json; from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))")
    result = manage(project, "shell", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_stray_env_file_is_not_read(project):
    values = settings_of(project, **SERVER_ENV)

    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["PBX_URL"] == SERVER_ENV["PBX_URL"]


def test_it_is_read_when_asked_as_make_run_does(project):
    values = settings_of(project, DJANGO_ENV_FILE=".env")

    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["PBX_URL"] == "http://127.0.0.1:8001/"


def test_the_environment_wins_over_the_file(project):
    values = settings_of(project, DJANGO_ENV_FILE=".env", **PRODUCTION_ENV)

    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == PRODUCTION_ENV["DJANGO_SECRET_KEY"]


def test_without_a_secret_key_the_error_says_how_to_read_the_env_file(project):
    result = manage(project, "check")

    assert result.returncode != 0
    assert "read only when asked: DJANGO_ENV_FILE=.env" in result.stderr


def test_an_env_file_asked_for_must_exist(project):
    result = manage(project, "check", DJANGO_ENV_FILE="no-such.env", **SERVER_ENV)

    assert result.returncode != 0
    assert "DJANGO_ENV_FILE names no file: 'no-such.env'" in result.stderr


def test_deploy_check_passes_beside_a_stray_env_file(project):
    result = manage(project, "check", "--deploy", "--fail-level", "WARNING", **SERVER_ENV)

    assert result.returncode == 0, result.stderr


def test_deploy_check_fails_when_the_env_file_turns_debug_on(project):
    result = manage(project, "check", "--deploy", DJANGO_ENV_FILE=".env", **SERVER_ENV)

    assert result.returncode != 0
    assert "xvbcrm.E001" in result.stderr  # DEBUG on
    assert "(xvbcrm.E002) DJANGO_DEBUG from the file DJANGO_ENV_FILE=.env" in result.stderr


@pytest.mark.parametrize(("line", "setting"), [
    ("DJANGO_SECURE_SSL_REDIRECT=false", "SECURE_SSL_REDIRECT"),
    ("DJANGO_SECURE_HSTS_SECONDS=0", "SECURE_HSTS_SECONDS"),
    ("DJANGO_SESSION_COOKIE_SECURE=false", "SESSION_COOKIE_SECURE"),
    ("DJANGO_CSRF_COOKIE_SECURE=false", "CSRF_COOKIE_SECURE"),
])
def test_deploy_check_fails_when_the_env_file_weakens_https(project, tmp_path, line, setting):
    env_file = tmp_path / "crm.env"
    env_file.write_text(line + "\n", encoding="utf-8")
    env = {k: v for k, v in SERVER_ENV.items() if k != "DJANGO_SECURE_HSTS_SECONDS"}

    result = manage(project, "check", "--deploy", DJANGO_ENV_FILE=str(env_file), **env)

    assert result.returncode != 0
    assert f"makes {setting} = " in result.stderr
    assert "xvbcrm.E002" in result.stderr


def test_deploy_check_fails_with_debug_on_from_the_environment(project):
    result = manage(project, "check", "--deploy", **{**SERVER_ENV, "DJANGO_DEBUG": "true"})

    assert result.returncode != 0  # an error, not only Django's warning security.W018
    assert "xvbcrm.E001" in result.stderr


def test_a_production_env_file_asked_for_passes_the_deploy_check(project, tmp_path):
    """Production may keep its settings in a file of its own: one that weakens nothing."""
    env_file = tmp_path / "xvbcrm.env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in SERVER_ENV.items()), encoding="utf-8")

    result = manage(project, "check", "--deploy", "--fail-level", "WARNING",
                    DJANGO_ENV_FILE=str(env_file))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("asked", "debug"), [(False, False), (True, True)])
def test_gunicorn_beside_a_stray_env_file(project, tmp_path, asked, debug):
    """gunicorn started without DJANGO_DEBUG: debug off and http redirected, unless asked."""
    env = clean_environment(**SERVER_ENV, **({"DJANGO_ENV_FILE": ".env"} if asked else {}))
    with gunicorn(cwd=project, env=env, log=tmp_path / "gunicorn.log") as url:
        plain_http = requests.get(f"{url}/admin/login/", headers={"Host": "crm.example.com"},
                                  allow_redirects=False, timeout=30)
        not_found = requests.get(f"{url}/no-such-page/", timeout=30, headers={
            "Host": "crm.example.com", "X-Forwarded-Proto": "https"})

    assert not_found.status_code == 404
    # Django's debug 404 page tells the URL patterns.
    assert ("Using the URLconf defined in" in not_found.text) is debug
    if debug:
        assert plain_http.status_code != 301
    else:
        assert plain_http.status_code == 301
        assert plain_http.headers["Location"] == "https://crm.example.com/admin/login/"
