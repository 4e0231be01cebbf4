// The recdsl VS Code extension: starts `recdsl lsp` (LSP over stdio) for .rec files and
// restarts it on the command "recdsl: Restart Language Server" or when its settings change.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");
const { serverLaunch } = require("./server");

let client = null;
let outputChannel = null;

function settings() {
  const config = vscode.workspace.getConfiguration("recdsl.server");
  return { command: config.get("command"), python: config.get("python") };
}

async function reportProblem(message) {
  const choice = await vscode.window.showErrorMessage(message, "Open Settings");
  if (choice === "Open Settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "recdsl.server");
  }
}

async function startServer() {
  const launch = serverLaunch(settings());
  if (launch.problem) {
    outputChannel.appendLine(launch.problem);
    void reportProblem(launch.problem);
    return;
  }
  outputChannel.appendLine(`starting: ${[launch.command, ...launch.args].join(" ")}`);
  // No `transport`: the client would append `--stdio`; the server speaks stdio by default.
  const serverOptions = { command: launch.command, args: launch.args };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "recdsl" },
      { scheme: "untitled", language: "recdsl" },
    ],
    outputChannel,
  };
  client = new LanguageClient("recdsl", "recdsl language server", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    const message = `recdsl: the language server (${launch.command} ${launch.args.join(" ")}) failed to start (${error.message || error}). Is recdsl installed? \`pip install recdsl\``;
    outputChannel.appendLine(message);
    void reportProblem(message);
    client = null;
  }
}

async function stopServer() {
  const running = client;
  client = null;
  if (running) {
    try {
      await running.stop();
    } catch (error) {
      outputChannel.appendLine(`stopping the server: ${error.message || error}`);
    }
  }
}

async function restartServer() {
  await stopServer();
  await startServer();
}

async function activate(context) {
  outputChannel = vscode.window.createOutputChannel("recdsl");
  context.subscriptions.push(
    outputChannel,
    vscode.commands.registerCommand("recdsl.restartServer", restartServer),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("recdsl.server")) void restartServer();
    }),
  );
  await startServer();
}

function deactivate() {
  return stopServer();
}

module.exports = { activate, deactivate };
