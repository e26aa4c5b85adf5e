#!/bin/bash
# A survey as a Slurm job array: one task per shard, shard = SLURM_ARRAY_TASK_ID.
#   sbatch --array=0-7 scripts/slurm-scan.sh top-1m.csv survey.example.org
# Each task writes its own file (scan-I-of-N.csv.gz and its manifest); `mxtls stats
# scan-*-of-8.csv.gz` reads them back as one snapshot. A requeued task resumes (--resume).
# The EHLO name must resolve to the nodes' egress address and serve a page about the survey.
#SBATCH --job-name=mxtls-survey
#SBATCH --cpus-per-task=2
#SBATCH --mem=3G
#SBATCH --time=24:00:00
#SBATCH --requeue
set -euo pipefail
list=${1:?usage: sbatch --array=0-N-1 slurm-scan.sh LIST EHLO-NAME}
ehlo=${2:?usage: sbatch --array=0-N-1 slurm-scan.sh LIST EHLO-NAME}
n=$((SLURM_ARRAY_TASK_MAX + 1))
i=$SLURM_ARRAY_TASK_ID
exec mxtls scan "$list" -o "scan-$i-of-$n.csv.gz" --shard "$i/$n" --resume --quiet \
    --ehlo "$ehlo" --threads "${SLURM_CPUS_PER_TASK:-2}" --scan-id "slurm-$SLURM_ARRAY_JOB_ID"
