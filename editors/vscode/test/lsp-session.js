// Starts the language server the way the extension does (server.js's serverLaunch over the
// settings given as JSON in argv[2]), opens each .rec file named after it, and prints one JSON
// object: the server's name and the diagnostics it published for each file. Used by
// tests/editors/test_vscode.py; also handy by hand: node test/lsp-session.js '{}' spec.rec
"use strict";

const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");
const rpc = require("vscode-jsonrpc/node");
const { serverLaunch } = require("../server");

async function main() {
  const launch = serverLaunch({ command: ["recdsl", "lsp"], ...JSON.parse(process.argv[2] || "{}") });
  if (launch.problem) throw new Error(launch.problem);
  const server = spawn(launch.command, launch.args, { stdio: ["pipe", "pipe", "inherit"] });
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(server.stdout),
    new rpc.StreamMessageWriter(server.stdin),
  );
  const published = new Map();
  const waiting = new Map();
  connection.onNotification("textDocument/publishDiagnostics", ({ uri, diagnostics }) => {
    published.set(uri, diagnostics);
    if (waiting.has(uri)) waiting.get(uri)();
  });
  connection.listen();
  const init = await connection.sendRequest("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
  await connection.sendNotification("initialized", {});
  const files = process.argv.slice(3).map((file) => path.resolve(file));
  for (const file of files) {
    const uri = "file://" + file;
    const arrived = published.has(uri) ? Promise.resolve() : new Promise((resolve) => waiting.set(uri, resolve));
    await connection.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "recdsl", version: 1, text: fs.readFileSync(file, "utf8") },
    });
    await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`no diagnostics for ${file}`)), 30000))]);
  }
  const diagnostics = Object.fromEntries(files.map((file) => [file, published.get("file://" + file)]));
  await connection.sendRequest("shutdown");
  await connection.sendNotification("exit");
  console.log(JSON.stringify({ server: init.serverInfo || null, capabilities: init.capabilities, diagnostics }));
  connection.dispose();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(String(error.stack || error));
    process.exit(1);
  },
);
