#!/usr/bin/env bash
# Evaluate a candidate model on a fixed task set, then gate it against a baseline run.
#
#   eval-regression.sh BASELINE_DIR OUT_DIR [OVERRIDE ...]
#
# BASELINE_DIR  run folders of the baseline (the main branch's artifact); when it holds no run,
#               nothing is compared and the script exits 0 (the first run on main).
# OUT_DIR       where the candidate's runs go (upload it: on main it is the next baseline).
# OVERRIDE ...  evalkit overrides naming the model: backend=openai backend.base_url=... ...
#
# Environment: EVAL_TASKS (space-separated, default "docvqa"), MAX_DROP (tolerated drop in
# each metric's units, default 0.01), ALPHA (default 0.05), EVALKIT (how to call evalkit,
# default "evalkit"). Writes OUT_DIR/compare.md (for the PR comment) and OUT_DIR/compare.json.
# Exit status: that of `evalkit compare --fail-on-drop`: 0 pass, 1 significant drop, 2 unusable.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BASELINE_DIR OUT_DIR [OVERRIDE ...]" >&2
  exit 2
fi
baseline=$1
out=$2
shift 2
read -r -a evalkit <<< "${EVALKIT:-evalkit}"
tasks=${EVAL_TASKS:-docvqa}

mkdir -p "$out"
for task in $tasks; do
  # the response cache (restored by the workflow) keeps a rerun from paying twice
  "${evalkit[@]}" run "task=$task" "results_dir=$out" report.progress=false "$@"
done

if ! find "$baseline" -name run.json -print -quit 2>/dev/null | grep -q .; then
  echo "no baseline run in $baseline: nothing to compare (this run becomes the baseline)"
  printf '### evalkit compare\n\nNo baseline run yet: this run becomes the baseline.\n' \
    > "$out/compare.md"
  exit 0
fi

status=0
"${evalkit[@]}" compare "$baseline" "$out" --fail-on-drop --max-drop "${MAX_DROP:-0.01}" \
  --alpha "${ALPHA:-0.05}" --markdown "$out/compare.md" --json "$out/compare.json" || status=$?
exit "$status"
