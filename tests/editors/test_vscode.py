"""The VS Code extension in editors/vscode, built and tested headless the way CI does: `npm ci`
in a copy of the folder, the grammar's unit tests (`# SYNTAX TEST` files) and snapshot tests
(every bundled spec), a generated test that tokenizes every op, keyword and enum choice, the
server launcher (server.js) run under node, and the .vsix that `vsce package` builds."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from recdsl.ops import load
from tests.editors.test_textmate_grammar import enum_parameters, lark_keywords

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editors" / "vscode"
SNAPSHOTS = EXTENSION / "test" / "snapshots"
GRAMMAR = "syntaxes/recdsl.tmLanguage.json"
UPDATE_HINT = "cd editors/vscode && npm run test:update, then review the .snap diffs"


def bundled_specs() -> list[Path]:
    return sorted([*ROOT.glob("specs/**/*.rec"), *ROOT.glob("examples/**/*.rec")])


def run(command: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def must_pass(command: list[str], cwd: Path, timeout: int = 120, env: dict | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def extension(tmp_path_factory) -> Path:
    """A copy of editors/vscode with its locked dependencies installed (`npm ci`)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found on PATH: the VS Code extension's tests need Node.js 20+ "
                    "and npm (https://nodejs.org, or `apt-get install nodejs npm`)")
    version = must_pass(["node", "--version"], ROOT).strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"node {version} is too old: @vscode/vsce needs Node.js 20 or newer")
    copy = tmp_path_factory.mktemp("editors") / "vscode"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("node_modules", "*.vsix"))
    must_pass(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], copy, timeout=300)
    return copy


def tool(extension: Path, name: str) -> str:
    return str(extension / "node_modules" / ".bin" / name)


def test_snapshot_sources_are_the_bundled_specs():
    copies = sorted(SNAPSHOTS.rglob("*.rec"))
    expected = [SNAPSHOTS / spec.relative_to(ROOT) for spec in bundled_specs()]
    assert copies == expected, f"the snapshot sources are not the bundled specs: {UPDATE_HINT}"
    for spec in bundled_specs():
        copy = SNAPSHOTS / spec.relative_to(ROOT)
        assert copy.read_bytes() == spec.read_bytes(), f"{spec.relative_to(ROOT)} changed: {UPDATE_HINT}"
        assert copy.with_name(copy.name + ".snap").is_file(), f"no snapshot of {copy.name}: {UPDATE_HINT}"


def test_grammar_unit_tests_pass(extension):
    out = must_pass([tool(extension, "vscode-tmgrammar-test"), "-g", GRAMMAR, "test/unit/*.rec"], extension)
    assert out.count("run successfuly") == len(list((extension / "test" / "unit").glob("*.rec"))) >= 3


def test_every_bundled_spec_matches_its_snapshot(extension):
    out = must_pass([tool(extension, "vscode-tmgrammar-snap"), "-g", GRAMMAR, "-s", "source.recdsl",
                     "test/snapshots/**/*.rec"], extension)
    assert out.count("run successfully") == len(list((extension / "test" / "snapshots").rglob("*.rec"))), out
    assert "Generating snapshot" not in out


def test_snapshot_tests_catch_a_broken_grammar(extension, tmp_path):
    """The tools read the grammar named in package.json, so the broken one replaces it in a copy."""
    for name in ("package.json", GRAMMAR, "test/snapshots/specs/din.rec", "test/snapshots/specs/din.rec.snap"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(extension / name, tmp_path / name)
    grammar = json.loads((tmp_path / GRAMMAR).read_text(encoding="utf-8"))
    grammar["repository"]["number"]["patterns"] = []
    (tmp_path / GRAMMAR).write_text(json.dumps(grammar), encoding="utf-8")
    done = run([tool(extension, "vscode-tmgrammar-snap"), "-g", GRAMMAR, "-s", "source.recdsl",
                "test/snapshots/specs/din.rec"], tmp_path)
    assert done.returncode != 0, done.stdout
    assert "constant.numeric.integer.recdsl" in done.stdout


def caret(column: int, length: int, scope: str) -> str:
    """A `# SYNTAX TEST` assertion: the `length` characters from `column` of the line above have `scope`."""
    return "#" + " " * (column - 1) + "^" * length + " " + scope


def test_every_op_keyword_and_enum_choice_is_highlighted(extension):
    lines = ['# SYNTAX TEST "source.recdsl" "generated from the lark grammar and the op registry"']
    for op in sorted(load()):
        source = f"  block node = {op}(inputs, dim=1)"
        lines += [source, caret(source.index(f" {op}(") + 1, len(op),
                                "meta.function-call.recdsl entity.name.function.op.recdsl")]
    for keyword in sorted(lark_keywords() - {"true", "false"}):
        source = f"  {keyword} node_name"
        lines += [source, caret(2, len(keyword), f"keyword.other.{keyword}.recdsl"),
                  caret(source.index("node_name"), len("node_name"), f"entity.name.{keyword}.recdsl")]
    for param, choices in sorted(enum_parameters().items()):
        for choice in sorted(choices):
            source = f"  block node = op(inputs, {param}={choice})"
            lines += [source, caret(source.index(f" {param}=") + 1, len(param), "variable.parameter.recdsl"),
                      caret(source.index(f"={choice})") + 1, len(choice), "constant.language.enum.recdsl")]
    for value in ("true", "false"):
        source = f"  block node = op(inputs, flag={value})"
        lines += [source, caret(source.index(value), len(value), "constant.language.boolean.recdsl")]
    generated = extension / "test" / "generated.rec"
    generated.write_text("\n".join(lines) + "\n", encoding="utf-8")
    must_pass([tool(extension, "vscode-tmgrammar-test"), "-g", GRAMMAR, "test/generated.rec"], extension)


def launch(extension: Path, settings: dict, path: str) -> dict:
    script = "console.log(JSON.stringify(require('./server.js').serverLaunch(JSON.parse(process.argv[1]))))"
    done = subprocess.run([shutil.which("node"), "-e", script, json.dumps(settings)], cwd=extension, capture_output=True,
                          text=True, timeout=60, env={"PATH": path})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_server_command_is_found_on_path(extension, tmp_path):
    program = tmp_path / "recdsl"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    assert launch(extension, {"command": ["recdsl", "lsp"]}, str(tmp_path)) == {
        "command": "recdsl", "args": ["lsp"], "problem": None}


def test_missing_server_command_says_how_to_install(extension, tmp_path):
    got = launch(extension, {"command": ["recdsl", "lsp"]}, str(tmp_path))
    assert got["problem"] == ('recdsl: cannot start the language server: the command "recdsl" was not found on PATH. '
                              "Install it with `pip install recdsl` in the Python environment VS Code runs in, or set "
                              '"recdsl.server.command" (or "recdsl.server.python") to where it is installed.')
    assert "must be a list of strings" in launch(extension, {"command": []}, str(tmp_path))["problem"]


def test_python_setting_runs_the_module(extension, tmp_path):
    got = launch(extension, {"command": ["recdsl", "lsp"], "python": sys.executable}, str(tmp_path))
    assert got == {"command": sys.executable, "args": ["-m", "recdsl", "lsp"], "problem": None}
    bare = tmp_path / "python"
    bare.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'recdsl'\" >&2\nexit 1\n", encoding="utf-8")
    bare.chmod(0o755)
    problem = launch(extension, {"python": str(bare)}, "/usr/bin:/bin")["problem"]
    assert "cannot import recdsl (ModuleNotFoundError: No module named 'recdsl')" in problem
    assert "pip install recdsl" in problem
    assert "was not found" in launch(extension, {"python": str(tmp_path / "nope")}, "/usr/bin:/bin")["problem"]


def extension_events(extension: Path, scenario: dict, path: str) -> list:
    """What extension.js does against a fake VS Code: activate, restart command, settings change, deactivate."""
    out = must_pass([shutil.which("node"), "test/extension-harness.js", json.dumps(scenario)], extension,
                    env={"PATH": path})
    return json.loads(out)


def test_extension_starts_restarts_and_stops_the_client(extension, tmp_path):
    (tmp_path / "recdsl").write_text("#!/bin/sh\n", encoding="utf-8")
    (tmp_path / "recdsl").chmod(0o755)
    client = ["client", "recdsl", {"command": "recdsl", "args": ["lsp"]}, ["recdsl", "recdsl"]]
    events = extension_events(extension, {"settings": {"command": ["recdsl", "lsp"]}}, str(tmp_path))
    assert events == [client, ["start"], ["activated", 3],
                      ["stop"], client, ["start"], ["restarted"],
                      ["stop"], client, ["start"], ["reconfigured"], ["stop"]]


def test_extension_reports_a_missing_server_and_opens_the_settings(extension, tmp_path):
    events = extension_events(extension, {"settings": {"command": ["recdsl", "lsp"]}, "choice": "Open Settings"},
                              str(tmp_path))
    errors = [event for event in events if event[0] == "error"]
    assert len(errors) == 3 and not [event for event in events if event[0] == "client"]
    assert "the command \"recdsl\" was not found on PATH. Install it with `pip install recdsl`" in errors[0][1]
    assert errors[0][2] == ["Open Settings"]
    assert ["execute", "workbench.action.openSettings", "recdsl.server"] in events


def test_extension_reports_a_server_that_fails_to_start(extension, tmp_path):
    (tmp_path / "recdsl").write_text("#!/bin/sh\n", encoding="utf-8")
    (tmp_path / "recdsl").chmod(0o755)
    events = extension_events(extension, {"settings": {"command": ["recdsl", "lsp"]}, "startFails": True},
                              str(tmp_path))
    assert events[:3] == [["client", "recdsl", {"command": "recdsl", "args": ["lsp"]}, ["recdsl", "recdsl"]], ["start"],
                          ["error", "recdsl: the language server (recdsl lsp) failed to start (spawn recdsl EACCES). "
                                    "Is recdsl installed? `pip install recdsl`", ["Open Settings"]]]
    assert ["stop"] not in events  # a client that never started is not stopped


def test_launched_server_speaks_lsp(extension, tmp_path):
    """The command the extension would run (`<python> -m recdsl lsp`) answers initialize, finds no
    problem in any bundled spec and reports the two broken statements of a bad one where they are."""
    bad = tmp_path / "bad.rec"
    bad.write_text("model bad\nfeature a : id(buckets=10)\nblock x = mlp(a, units=[8], dropout=2)\n"
                   "block y = nosuchop(a)\noutput o = sigmoid(x)\n", encoding="utf-8")
    specs = [str(spec) for spec in bundled_specs()]
    out = must_pass([shutil.which("node"), "test/lsp-session.js", json.dumps({"python": sys.executable}),
                     *specs, str(bad)], extension, timeout=120)
    session = json.loads(out)
    assert session["server"]["name"] == "recdsl"
    assert {spec: session["diagnostics"][spec] for spec in specs} == {spec: [] for spec in specs}
    found = [(d["range"]["start"]["line"], d["range"]["start"]["character"], d["range"]["end"]["character"],
              d["message"].split()[0]) for d in session["diagnostics"][str(bad)]]
    assert found == [(2, 36, 37, "`dropout`"), (3, 10, 18, "unknown")]


def test_schema_step_says_how_to_install_recdsl(extension, tmp_path):
    done = subprocess.run([shutil.which("node"), "scripts/write-schema.js"], cwd=extension, capture_output=True,
                          text=True, timeout=60, env={"PATH": str(tmp_path)})
    assert done.returncode == 1
    assert '"recdsl" was not found. Building the extension needs recdsl: `pip install recdsl`' in done.stderr


def test_vsix_holds_the_extension_and_its_runtime_only(extension):
    manifest = json.loads((extension / "package.json").read_text(encoding="utf-8"))
    must_pass(["npm", "run", "package"], extension, timeout=300, env={**os.environ, "RECDSL_PYTHON": sys.executable})
    vsix = extension / f"recdsl-{manifest['version']}.vsix"
    names = set(zipfile.ZipFile(vsix).namelist())
    for needed in ("package.json", "extension.js", "server.js", "language-configuration.json", GRAMMAR,
                   "readme.md", "node_modules/vscode-languageclient/node.js"):
        assert f"extension/{needed}" in names, needed
    for unwanted in ("node_modules/@vscode/vsce/", "node_modules/vscode-tmgrammar-test/", "node_modules/vscode-textmate/",
                     "node_modules/vscode-oniguruma/", "extension/test/", "extension/scripts/", "package-lock.json"):
        assert not [name for name in names if unwanted in name], unwanted
    packed = json.loads(zipfile.ZipFile(vsix).read("extension/package.json"))
    language, grammar = packed["contributes"]["languages"][0], packed["contributes"]["grammars"][0]
    assert (language["id"], language["extensions"], grammar["language"]) == ("recdsl", [".rec"], "recdsl")
    assert f"extension/{grammar['path'].removeprefix('./')}" in names
    assert packed["contributes"]["configuration"]["properties"]["recdsl.server.command"]["default"] == ["recdsl", "lsp"]
    assert [c["command"] for c in packed["contributes"]["commands"]] == ["recdsl.restartServer"]
    assert {v["fileMatch"]: v["url"] for v in packed["contributes"]["yamlValidation"]} == {
        "*.rec.yaml": "./schemas/recdsl.schema.json", "*.rec.yml": "./schemas/recdsl.schema.json"}
    schema = json.loads(zipfile.ZipFile(vsix).read("extension/schemas/recdsl.schema.json"))
    assert schema == json.loads(must_pass([sys.executable, "-m", "recdsl", "schema"], ROOT))
    assert 'registerCommand("recdsl.restartServer"' in (extension / "extension.js").read_text(encoding="utf-8")
