#!/usr/bin/env bash
# Every test: the Rust workspace, then the TypeScript client (its type
# tests, unit tests, tests against the chat server through a faulty
# network, its streams against the jobs server (`jobs --serve`), and the
# chat page in headless Chromium).
#
# Needs `redis-server` (the Redis tests start their own), Node 20 or newer
# with npm, and Chromium (/usr/bin/chromium, or CHROMIUM=/path) for the
# browser test; `.ci/run` installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace
# The servers the TypeScript tests start: chat, and jobs for the streams.
cargo build -p chat -p jobs

cd clients/typescript
npm ci --no-audit --no-fund
npm run build
# The compiled runtime and the chat page's client are committed (the chat
# example serves them): they must be what the sources compile to.
if ! git diff --quiet -- dist ../../examples/chat/web/chat.js; then
  git --no-pager diff --stat -- dist ../../examples/chat/web/chat.js
  echo "the compiled TypeScript differs from the committed files: run npm run build in clients/typescript and commit dist/ and examples/chat/web/chat.js" >&2
  exit 1
fi
npm run check
npm test
