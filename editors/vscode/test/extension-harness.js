// Runs extension.js against a fake `vscode` API and a fake LanguageClient, and prints what it
// did as JSON lines of events. argv[2]: {"settings": {command, python}, "startFails": bool}.
// Scenario: activate, run the command recdsl.restartServer, then change a recdsl.server setting.
"use strict";

const Module = require("module");

const scenario = JSON.parse(process.argv[2] || "{}");
const events = [];
const handlers = {};
const disposable = { dispose() {} };

const vscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key) => (scenario.settings || {})[key], section }),
    onDidChangeConfiguration: (handler) => ((handlers.configuration = handler), disposable),
  },
  window: {
    createOutputChannel: (name) => ({ name, appendLine: (line) => events.push(["log", line]), dispose() {} }),
    showErrorMessage: async (message, ...items) => (events.push(["error", message, items]), scenario.choice),
  },
  commands: {
    registerCommand: (id, handler) => ((handlers[id] = handler), disposable),
    executeCommand: async (...args) => events.push(["execute", ...args]),
  },
};

class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    events.push(["client", id, serverOptions, clientOptions.documentSelector.map((s) => s.language)]);
  }
  async start() {
    events.push(["start"]);
    if (scenario.startFails) throw new Error("spawn recdsl EACCES");
  }
  async stop() {
    events.push(["stop"]);
  }
}

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient };
  return load.call(this, request, ...rest);
};

async function main() {
  const extension = require("../extension");
  const context = { subscriptions: [] };
  await extension.activate(context);
  events.push(["activated", context.subscriptions.length]);
  await handlers["recdsl.restartServer"]();
  events.push(["restarted"]);
  handlers.configuration({ affectsConfiguration: (section) => section === "recdsl.server" });
  handlers.configuration({ affectsConfiguration: () => false });
  await new Promise((resolve) => setTimeout(resolve, 100));
  events.push(["reconfigured"]);
  await extension.deactivate();
  console.log(JSON.stringify(events.filter((event) => event[0] !== "log")));
}

main().catch((error) => {
  console.error(String(error.stack || error));
  process.exit(1);
});
