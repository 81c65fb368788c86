#!/usr/bin/env bash
# Regenerates po/hangar.pot from the files in po/POTFILES.in (Rust with xgettext's C lexer,
# GtkBuilder files with its Glade one), then merges it into every translation in po/LINGUAS.
# Usage: po/update-pot.sh [OUTPUT.pot]   (an OUTPUT elsewhere leaves po/ untouched)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-po/hangar.pot}
files=$(grep -v '^#' po/POTFILES.in | grep -v '^$')
rust=$(grep '\.rs$' <<<"$files" || true)
ui=$(grep -v '\.rs$' <<<"$files" || true)
common=(--from-code=UTF-8 --add-comments=Translators --package-name=hangar --msgid-bugs-address=https://github.com/hangarvm/hangar/issues --no-location --sort-output)
# shellcheck disable=SC2086 # one file name per word
xgettext "${common[@]}" -L C --keyword=gettext --keyword=ngettext:1,2 --keyword=gettext_f -o "$out" $rust 2>/dev/null
# shellcheck disable=SC2086
xgettext "${common[@]}" --join-existing -o "$out" $ui
if [[ $# -eq 0 ]]; then
  for lang in $(grep -v '^#' po/LINGUAS); do
    msgmerge --quiet --update --backup=none --no-location "po/$lang.po" "$out"
  done
fi
