#!/bin/sh
# Vendors Apache ECharts into the console: `npm pack`s the pinned release from the npm registry
# and copies its dist/echarts.min.js to bot/web/static/, so no page loads anything from a CDN.
# Run by ./dev when the file is missing; the file itself is not kept in git.
set -eu
VERSION="${ECHARTS_VERSION:-5.6.0}"
HERE="$(cd "$(dirname "$0")" && pwd)"
TARGET="$HERE/static/echarts.min.js"
if ! command -v npm >/dev/null 2>&1; then
    echo "vendor_echarts: npm not found (Debian: apt-get install -y npm); the console runs without charts" >&2
    exit 1
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack "echarts@$VERSION" --silent >/dev/null)
tar -xzf "$WORK"/echarts-"$VERSION".tgz -C "$WORK" package/dist/echarts.min.js package/LICENSE
cp "$WORK/package/dist/echarts.min.js" "$TARGET.tmp"
mv "$TARGET.tmp" "$TARGET"
cp "$WORK/package/LICENSE" "$HERE/static/echarts.LICENSE.txt"
echo "vendor_echarts: echarts $VERSION → $TARGET"
