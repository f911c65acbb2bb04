"""`sre-agent runbooks list|lint`, through the real argument parser and the real console entry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).parents[2]

OURS = """---
name: KubePodCrashLooping
description: our own crash-loop runbook
match: {alertname: KubePodCrashLooping, labels: {team: shop}}
priority: 10
tools: ["kubernetes_*"]
steps:
  - tool: kubernetes_get_pod
    args: {name: "{{ pod }}", namespace: "{{ namespace }}"}
    why: state
---
Read the pod first.
"""


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRE_AGENT_CONFIG", raising=False)
    monkeypatch.delenv("SRE_AGENT_RUNBOOK_DIRS", raising=False)
    monkeypatch.chdir(REPO)  # paths under the working directory are shown relative to it


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_name_priority_match_steps_and_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "runbooks", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "PRIORITY", "MATCH", "STEPS", "SOURCE"]
    crash = next(line for line in lines if line.startswith("KubePodCrashLooping "))
    name, priority, match, steps, source = crash.split()
    assert (name, priority, match, steps) == (
        "KubePodCrashLooping",
        "0",
        "alertname=KubePodCrashLooping",
        "5",
    )
    assert Path(source).resolve() == REPO / "runbooks" / "KubePodCrashLooping.md"
    assert lines[-1].startswith("default ")
    assert "(everything)" in lines[-1]


def test_list_puts_a_directory_before_the_built_ins_and_says_what_it_overrides(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "crash.md").write_text(OURS)
    code, out, _ = run(capsys, "runbooks", "list", "--dir", str(tmp_path), "--json")
    assert code == 0
    document = json.loads(out)
    (ours,) = [rb for rb in document["runbooks"] if rb["name"] == "KubePodCrashLooping"]
    assert ours == {
        "name": "KubePodCrashLooping",
        "description": "our own crash-loop runbook",
        "priority": 10,
        "match": {"alertname": "KubePodCrashLooping", "labels": {"team": "shop"}},
        "tools": ["kubernetes_*"],
        "steps": 1,
        "source": str(tmp_path / "crash.md"),
        "overrides": [str(REPO / "runbooks" / "KubePodCrashLooping.md")],
    }
    assert document["runbooks"][0]["name"] == "KubePodCrashLooping"  # highest priority first
    assert document["problems"] == []


def test_list_points_at_lint_when_files_could_not_be_loaded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "broken.md").write_text("no front matter\n")
    code, out, _ = run(capsys, "runbooks", "list", "--dir", str(tmp_path))
    assert code == 0
    assert out.rstrip().endswith(
        "1 runbook file(s) could not be loaded; run `sre-agent runbooks lint` to see why."
    )


def test_lint_of_the_built_ins_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runbooks", "lint")
    assert code == 0
    assert out == "17 runbooks loaded; 0 errors, 0 warnings\n"


def test_lint_reports_every_broken_file_and_still_checks_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a-bad-yaml.md").write_text("---\nname: [x\n---\n")
    (tmp_path / "b-unknown-key.md").write_text(
        "---\nname: B\ndescription: d\nmatch: {}\nprority: 3\n---\nbody\n"
    )
    (tmp_path / "c-good.md").write_text(OURS.replace("KubePodCrashLooping", "Ours"))
    (tmp_path / "d-unknown-tool.md").write_text(
        OURS.replace("name: KubePodCrashLooping", "name: D").replace(
            "tool: kubernetes_get_pod", "tool: kubernetes_get_pods"
        )
    )
    code, out, _ = run(capsys, "runbooks", "lint", "--dir", str(tmp_path), "--no-builtin")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'a-bad-yaml.md'}: line 2: invalid YAML:")
    assert lines[1].startswith(f"{tmp_path / 'b-unknown-key.md'}: prority: unknown key;")
    assert (
        f"{tmp_path / 'd-unknown-tool.md'}: steps[0].tool: unknown tool kubernetes_get_pods; "
        in (out)
    )
    assert lines[-1] == "2 runbooks loaded; 3 errors, 0 warnings"


def test_lint_exits_zero_when_there_are_only_warnings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "r.md").write_text(OURS.replace("Read the pod first.", ""))
    code, out, _ = run(capsys, "runbooks", "lint", "--dir", str(tmp_path), "--json")
    assert code == 0
    document = json.loads(out)
    assert (document["ok"], document["errors"], document["warnings"]) == (True, 0, 1)
    assert document["problems"] == [
        {
            "file": str(tmp_path / "r.md"),
            "field": "body",
            "message": "empty; explain how to read the evidence and the usual causes",
            "severity": "warning",
        }
    ]


def test_runbook_dirs_from_the_config_file_are_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "crash.md").write_text(OURS)
    config = tmp_path / "sre-agent.yaml"
    config.write_text(f"runbook_dirs: [{runbooks}]\n")
    code, out, _ = run(capsys, "--config", str(config), "runbooks", "list", "--json")
    assert code == 0
    sources = {rb["name"]: rb["source"] for rb in json.loads(out)["runbooks"]}
    assert sources["KubePodCrashLooping"] == str(runbooks / "crash.md")


@pytest.mark.parametrize("action", ["list", "lint"])
def test_a_directory_that_does_not_exist_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, action: str
) -> None:
    code, out, err = run(capsys, "runbooks", action, "--dir", str(tmp_path / "nope"))
    assert code == 2
    assert out == ""
    assert err == f"sre-agent: --dir {tmp_path / 'nope'}: not a directory\n"


def test_a_broken_config_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "sre-agent.yaml"
    config.write_text("runbook_dirs: [unclosed\n")
    code, _, err = run(capsys, "--config", str(config), "runbooks", "lint")
    assert code == 2
    assert "not valid YAML" in err


def test_an_action_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["runbooks"])
    assert exited.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def test_the_installed_command_lints_the_built_ins(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "runbooks", "lint", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
        # This checkout's code, whichever checkout the interpreter's editable install names.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["runbooks"] == 17
