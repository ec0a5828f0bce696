#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# git, unmodified, on a repository it builds: 80 commits, then the parts of git that run
# threads or talk to child processes through pipes: repack with 4 delta-search threads, clone
# without the local shortcut (upload-pack and index-pack with its threads), fsck, grep with 4
# threads, log. Prints what each gave (dates and names are fixed, so the ids are the same on
# every run).
set -euo pipefail
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
export GIT_AUTHOR_DATE="2020-01-01T00:00:00Z" GIT_COMMITTER_DATE="2020-01-01T00:00:00Z"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t
export GIT_COMMITTER_EMAIL=t@example.org GIT_CONFIG_NOSYSTEM=1 HOME=$w
cd "$w"
git init -q -b main repo
cd repo
for i in $(seq 80); do
  awk -v n="$i" 'BEGIN { for (j = 0; j < 300 * (n % 9 + 1); j++) printf "file %d line %d %x\n", n % 12, j, j * n }' \
    >"f$((i % 12))"
  echo "$i" >>log
  git add -A
  git commit -qm "commit $i"
done
echo "head: $(git rev-parse HEAD)"
git repack -q -a -d -f --threads=4 --window=50
echo "after repack: $(git count-objects -v | awk '/^(count|in-pack|packs):/{printf "%s ", $0}')"
cd "$w"
git clone -q --no-local repo clone
cd clone
git fsck --no-progress --full && echo "clone fsck: clean"
echo "clone head: $(git rev-parse HEAD), tree $(git rev-parse 'HEAD^{tree}')"
echo "files same as the repo's: $(diff -r -x .git "$w/repo" . >/dev/null && echo yes || echo no)"
echo "grep: $(git grep --threads=4 -c 'line 7 ' | tr '\n' ' ')"
echo "log: $(git log --oneline | wc -l) commits, $(git log --format=%s | sha256sum | cut -c1-16)"
