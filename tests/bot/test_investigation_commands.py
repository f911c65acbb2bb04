"""`sre-agent demo`, `investigate` and `eval` as a user runs them: live progress then the report,
`--json` documents, exit codes (0 done, 2 bad input with a one-line reason, 1 failure), and bad
input of every kind handled without a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from bot.cli import main

DEV_SCENARIOS = Path(__file__).parents[1] / "fixtures" / "scenarios"


@pytest.fixture(autouse=True)
def no_ambient_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the machine running the tests: no real cluster, Prometheus or config."""
    for name in (
        "KUBECONFIG",
        "PROMETHEUS_URL",
        "SRE_AGENT_CONFIG",
        "KUBERNETES_SERVICE_HOST",
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_cluster(tmp_path: Path) -> Path:
    """A config whose Kubernetes API refuses connections and whose store is a temporary file."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}
                ],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database_url: sqlite+aiosqlite:///{tmp_path / 'store.db'}\n"
        "mcpServers:\n"
        f"  kubernetes: {{env: {{KUBECONFIG: '{kubeconfig}', SRE_AGENT_KUBE_TIMEOUT_S: '2'}}}}\n"
    )
    return config


def crash_alert_file(tmp_path: Path, labels: dict[str, str] | None = None) -> Path:
    path = tmp_path / "alert.json"
    path.write_text(
        json.dumps(
            {
                "labels": labels
                if labels is not None
                else {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-1"},
                "startsAt": "2026-05-02T10:00:00Z",
            }
        )
    )
    return path


# --- demo ------------------------------------------------------------------------------------


def test_demo_shows_progress_then_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Investigating KubePodCrashLooping" in out
    assert "── iteration 1/" in out
    assert "✓ kubernetes_get_pod(name=checkout-6c9f7b8d4-x2k4q, namespace=shop)" in out
    assert "Category: oom_killed" in out
    assert "kubectl -n shop set resources deployment/checkout -c app --limits=memory=" in out
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_without_an_llm_key_the_cli_says_once_that_the_offline_reasoner_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("No LLM configured") == 1
    assert "offline reasoner" in captured.err
    assert json.loads(captured.out)["report"]["reasoner"] == "offline"


def test_demo_json_is_one_document_with_iterations_built_from_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--scenario", "orders-missing-config-key", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "finished"
    assert document["alert"]["labels"]["alertname"] == "KubeDeploymentRolloutStuck"
    assert document["report"]["category"] == "bad_config"
    first = document["iterations"][0]
    assert first["iteration"] == 1
    assert first["reasoning"]
    call = first["tool_calls"][0]
    assert {"tool", "arguments", "status", "duration_ms", "output"} <= set(call)
    assert document["stats"]["iterations"] == len(document["iterations"])


def test_demo_with_an_unknown_scenario_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scenario", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sre-agent: no built-in scenario named 'no-such-scenario'")
    assert len(err.strip().splitlines()) == 1


# --- investigate -----------------------------------------------------------------------------


def test_unparseable_alert_file_exits_2_and_says_why(
    tmp_path: Path, unreachable_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{labels: nope")
    assert main(["--config", str(unreachable_cluster), "investigate", "--alert", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sre-agent: {broken}: payload: not valid JSON")
    assert "Traceback" not in err


def test_missing_alert_file_exits_2(
    tmp_path: Path, unreachable_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["--config", str(unreachable_cluster), "investigate", "--alert", str(missing)]) == 2
    assert "cannot read the alert file" in capsys.readouterr().err


def test_alert_with_no_labels_runs_and_says_what_it_lacked(
    tmp_path: Path, unreachable_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = crash_alert_file(tmp_path, labels={})
    code = main(
        ["--config", str(unreachable_cluster), "investigate", "--alert", str(path), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "the alert has no labels" in captured.err
    report = json.loads(captured.out)["report"]
    assert report["category"] == "unknown"
    assert "no labels" in report["root_cause"]


def test_unreachable_kubernetes_api_ends_in_unknown_with_tool_errors_as_evidence(
    tmp_path: Path, unreachable_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = crash_alert_file(tmp_path)
    code = main(
        ["--config", str(unreachable_cluster), "investigate", "--alert", str(path), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in captured.err
    document = json.loads(captured.out)
    report = document["report"]
    assert (report["category"], report["confidence"]) == ("unknown", "low")
    assert any("cannot reach the Kubernetes API" in e["statement"] for e in report["evidence"])
    statuses = {c["status"] for i in document["iterations"] for c in i["tool_calls"]}
    assert statuses == {"error"}


def test_investigate_text_against_a_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "investigate",
            "--text",
            "checkout keeps restarting: pod checkout-6c9f7b8d4-x2k4q in namespace shop",
            "--sandbox",
            "checkout-oom",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["category"] == "oom_killed"


def test_empty_text_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["investigate", "--text", "   "]) == 2
    assert capsys.readouterr().err.startswith("sre-agent: --text:")


# --- eval ------------------------------------------------------------------------------------


def test_eval_prints_one_row_per_scenario_and_the_score(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = DEV_SCENARIOS / "kafka-pvc-missing-class.yaml"
    assert main(["eval", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["scenario", "expected", "got", "result", "time"]
    assert out[1].split()[:4] == ["kafka-pvc-missing-class", "pvc_pending", "pvc_pending", "pass"]
    assert out[-1] == "1 passed, 0 failed"


def test_eval_json_and_a_wrong_answer_still_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = (DEV_SCENARIOS / "kafka-pvc-missing-class.yaml").read_text()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(scenario.replace("category: pvc_pending", "category: oom_killed"))
    assert main(["eval", str(wrong), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["passed"], document["failed"]) == (0, 1)
    (row,) = document["scenarios"]
    assert (row["expected"], row["got"], row["passed"]) == ("oom_killed", "pvc_pending", False)


def test_eval_of_a_scenario_with_unknown_keys_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = (DEV_SCENARIOS / "kafka-pvc-missing-class.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(scenario.replace("description:", "descriptoin: typo\ndescription:", 1))
    assert main(["eval", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "descriptoin" in err
    assert len(err.strip().splitlines()) == 1


def test_eval_of_a_category_outside_the_vocabulary_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = (DEV_SCENARIOS / "kafka-pvc-missing-class.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(scenario.replace("category: pvc_pending", "category: storage_broken"))
    assert main(["eval", str(bad)]) == 2
    assert "not in the category vocabulary" in capsys.readouterr().err


def test_eval_of_a_path_that_does_not_exist_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "/no/such/dir"]) == 2
    assert "no such scenario file or directory" in capsys.readouterr().err
