#!/usr/bin/env bash
# The cluster templates (scripts/slurm-scan.sh, scripts/k8s-scan-job.yaml) cannot run here, so
# their commands are run with a stand-in mxtls that records its arguments: each array task or
# job index must scan its own shard into its own file, with --resume, and the shard count must
# match the array size / completions.
set -euo pipefail
src=${MXTLS_SRC:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/mxtls" <<'STUB'
#!/bin/sh
printf '%s\n' "$*" >>"$MXTLS_ARGS_LOG"
STUB
chmod +x "$tmp/mxtls"
export PATH="$tmp:$PATH" MXTLS_ARGS_LOG="$tmp/args"

for i in 0 1 2 3; do
    (cd "$tmp" && SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_MAX=3 SLURM_CPUS_PER_TASK=2 SLURM_ARRAY_JOB_ID=77 \
        bash "$src/scripts/slurm-scan.sh" list.csv survey.example.org)
done
for i in 0 1 2 3; do
    grep -qx "scan list.csv -o scan-$i-of-4.csv.gz --shard $i/4 --resume --quiet --ehlo survey.example.org --threads 2 --scan-id slurm-77" "$tmp/args" ||
        { echo "slurm task $i: wrong command:"; cat "$tmp/args"; exit 1; }
done

# The Job's shell command, taken from the YAML (a folded block under args), run per index.
yaml="$src/scripts/k8s-scan-job.yaml"
cmd=$(awk '/- >-/{f=1; next} f && /^ *resources:/{f=0} f' "$yaml" | tr -s ' \n' ' ')
n=$(awk '/completions:/{print $2}' "$yaml")
: >"$tmp/args"
for i in $(seq 0 $((n - 1))); do
    JOB_COMPLETION_INDEX=$i JOB_UID=u-1 sh -c "$cmd"
done
for i in $(seq 0 $((n - 1))); do
    grep -q -- "-o /data/scan-$i-of-$n.csv.gz --shard $i/$n --resume --quiet --scan-id k8s-u-1" "$tmp/args" ||
        { echo "k8s index $i: wrong command:"; cat "$tmp/args"; exit 1; }
done
# The Job's image is the one scripts/image.sh imports: localhost/mxtls:VERSION.
version=$(sed -n 's/^project(mxtls VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
grep -q "image: localhost/mxtls:$version " "$yaml" ||
    { echo "k8s: the image is not localhost/mxtls:$version, which scripts/image.sh builds"; exit 1; }
grep -q 'localhost/mxtls:$version' "$src/scripts/image.sh" ||
    { echo "scripts/image.sh does not import localhost/mxtls:VERSION"; exit 1; }
echo "cluster templates: ok"
