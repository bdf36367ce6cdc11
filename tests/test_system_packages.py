"""`.ci/system-packages`: installs only what is missing, asks apt nothing when all is there, and
fails loudly when apt fails. dpkg-query and apt-get are fakes on PATH (the real ones change the machine)."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "system-packages"


@pytest.fixture
def fake_apt(tmp_path):
    """fake_apt(installed=[...], apt_fails=False) → (run the script, the apt-get calls it made)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"

    def _setup(installed: list[str], apt_fails: bool = False):
        (bin_dir / "dpkg-query").write_text(
            "#!/bin/sh\n"
            "for last; do :; done\n"
            f'case " {" ".join(installed)} " in *" $last "*) printf "install ok installed";; *) exit 1;; esac\n'
        )
        (bin_dir / "apt-get").write_text(
            f'#!/bin/sh\necho "$*" >> "{calls}"\n' + ('echo "E: no network" >&2\nexit 100\n' if apt_fails else "")
        )
        (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')  # when the tests run as a normal user
        for tool in bin_dir.iterdir():
            tool.chmod(0o755)
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        return result, (calls.read_text().splitlines() if calls.exists() else [])

    return _setup


def test_nothing_to_do_asks_apt_nothing(fake_apt):
    result, calls = fake_apt(["chromium", "chromium-driver", "fonts-liberation", "gettext"])
    assert result.returncode == 0, result.stderr
    assert calls == []
    assert result.stdout == ""


def test_installs_only_the_missing_packages_without_recommends(fake_apt):
    result, calls = fake_apt(["gettext", "fonts-liberation"])
    assert result.returncode == 0, result.stderr
    assert len(calls) == 2
    assert calls[0].endswith("update -qq")
    assert "install -y -qq --no-install-recommends chromium chromium-driver" in calls[1]
    assert "gettext" not in calls[1] and "fonts-liberation" not in calls[1]


def test_an_apt_failure_fails_the_script_with_apt_s_message(fake_apt):
    result, calls = fake_apt(["gettext"], apt_fails=True)
    assert result.returncode != 0
    assert "E: no network" in result.stderr and "Could not install" in result.stderr
    assert len(calls) == 1  # the install is not attempted after a failed update
