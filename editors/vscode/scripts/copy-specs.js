// Copies every bundled spec (specs/**/*.rec, examples/**/*.rec) into test/snapshots/, mirroring
// its path, so that `vscode-tmgrammar-snap -u` can record its scopes. Run through
// `npm run test:update`, then review the .snap diffs before committing them.
const fs = require("fs");
const path = require("path");

const repo = path.resolve(__dirname, "..", "..", "..");
const target = path.resolve(__dirname, "..", "test", "snapshots");

function specsUnder(folder, recursive) {
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) return recursive ? specsUnder(full, true) : [];
    return entry.name.endsWith(".rec") ? [full] : [];
  });
}

const specs = [...specsUnder(path.join(repo, "specs"), true), ...specsUnder(path.join(repo, "examples"), true)];
fs.rmSync(target, { recursive: true, force: true });
for (const spec of specs) {
  const copy = path.join(target, path.relative(repo, spec));
  fs.mkdirSync(path.dirname(copy), { recursive: true });
  fs.copyFileSync(spec, copy);
}
console.log(`copied ${specs.length} specs into ${path.relative(process.cwd(), target) || "."}`);
