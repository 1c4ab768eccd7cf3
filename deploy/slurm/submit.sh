#!/bin/bash
# Queues the sharded profile and the merge that follows it:
#   SHARD_COUNT=16 OUT=/shared/profiles/ladder deploy/slurm/submit.sh [sbatch flags]
# Extra arguments go to both sbatch calls (e.g. --partition=cpu).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${SHARD_COUNT:-8}"
export SHARD_COUNT="$n"
jid="$(sbatch --parsable --array="0-$((n - 1))" --export=ALL "$@" "$here/profile-array.sbatch")"
jid="${jid%%;*}" # --parsable prints "id;cluster" on multi-cluster setups
sbatch --parsable --dependency="afterok:$jid" --export=ALL "$@" "$here/merge.sbatch"
echo "queued profile array $jid (shards 0..$((n - 1))) and its merge" >&2
