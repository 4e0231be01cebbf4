// How the extension finds and launches the recdsl language server. Plain Node (no `vscode`
// import), so tests/editors/test_vscode.py runs it headless.
//
// Contract: serverLaunch({command, python}) -> {command, args, problem}. `problem` is null when
// the program was found, else the message to show the user (it always says how to install).
"use strict";

const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const INSTALL_HINT = "Install it with `pip install recdsl` in the Python environment VS Code runs in";

/** The full path of `program` (a name looked up on PATH, or a path), or null if none is executable. */
function findExecutable(program, env = process.env, platform = process.platform) {
  const isFile = (candidate) => {
    try {
      fs.accessSync(candidate, platform === "win32" ? fs.constants.F_OK : fs.constants.X_OK);
      return fs.statSync(candidate).isFile();
    } catch {
      return false;
    }
  };
  const extensions = platform === "win32" ? ["", ...(env.PATHEXT || ".EXE;.CMD;.BAT").split(";")] : [""];
  const withExtensions = (base) => extensions.map((ext) => base + ext).find(isFile) || null;
  if (program.includes("/") || (platform === "win32" && program.includes("\\"))) {
    return withExtensions(path.resolve(program));
  }
  const folders = (env.PATH || env.Path || "").split(path.delimiter).filter(Boolean);
  for (const folder of folders) {
    const found = withExtensions(path.join(folder, program));
    if (found) return found;
  }
  return null;
}

/** Whether `python` can import recdsl: null if it can, else the message to show. */
function pythonProblem(python) {
  const result = spawnSync(python, ["-c", "import recdsl"], { encoding: "utf8", timeout: 20000 });
  if (result.status === 0) return null;
  const detail = (result.stderr || String(result.error || "")).trim().split("\n").pop();
  return `recdsl: the Python in "recdsl.server.python" (${python}) cannot import recdsl (${detail}). ${INSTALL_HINT}, or point the setting at a Python that has it.`;
}

/** The command that starts the server, from the extension's settings. */
function serverLaunch(settings) {
  const python = (settings.python || "").trim();
  if (python) {
    if (!findExecutable(python)) {
      return {
        command: python,
        args: ["-m", "recdsl", "lsp"],
        problem: `recdsl: the Python interpreter "${python}" set in "recdsl.server.python" was not found. Point it at a Python that has recdsl (\`pip install recdsl\`), or clear the setting to use "recdsl.server.command".`,
      };
    }
    return { command: python, args: ["-m", "recdsl", "lsp"], problem: pythonProblem(python) };
  }
  const command = settings.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === "string" && part)) {
    return {
      command: "",
      args: [],
      problem: `recdsl: "recdsl.server.command" must be a list of strings, program first, e.g. ["recdsl", "lsp"]; it is ${JSON.stringify(command)}.`,
    };
  }
  const [program, ...args] = command;
  if (!findExecutable(program)) {
    return {
      command: program,
      args,
      problem: `recdsl: cannot start the language server: the command "${program}" was not found on PATH. ${INSTALL_HINT}, or set "recdsl.server.command" (or "recdsl.server.python") to where it is installed.`,
    };
  }
  return { command: program, args, problem: null };
}

module.exports = { findExecutable, pythonProblem, serverLaunch };
