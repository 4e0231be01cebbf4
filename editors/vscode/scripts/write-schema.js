// Writes schemas/recdsl.schema.json, the JSON Schema of YAML specs that `recdsl schema` prints
// from the op registry; package.json's yamlValidation points `*.rec.yaml` at it. Runs before
// `vsce package` (vscode:prepublish), so every .vsix carries the schema of the recdsl that built
// it. Set RECDSL_PYTHON to a Python with recdsl to run `<python> -m recdsl` instead of `recdsl`.
"use strict";

const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const target = path.resolve(__dirname, "..", "schemas", "recdsl.schema.json");
const python = process.env.RECDSL_PYTHON;
const [program, ...prefix] = python ? [python, "-m", "recdsl"] : ["recdsl"];

fs.mkdirSync(path.dirname(target), { recursive: true });
const done = spawnSync(program, [...prefix, "schema", "--force", "-o", target], { stdio: "inherit" });
if (done.error || done.status !== 0) {
  const why = done.error && done.error.code === "ENOENT" ? `"${program}" was not found` : `"${program} ${[...prefix, "schema"].join(" ")}" failed`;
  console.error(`write-schema: ${why}. Building the extension needs recdsl: \`pip install recdsl\` (or \`pip install -e .\` in the repository), or set RECDSL_PYTHON to a Python that has it.`);
  process.exit(1);
}
