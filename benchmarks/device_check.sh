#!/usr/bin/env bash
# The GPU check (issue 19): what only an accelerator shows, in one run of under 5 minutes on one GPU, appended to
# benchmarks/RESULTS.md with the device named.
#   bash benchmarks/device_check.sh --mstar-root DIR       # on the GPU machine (DIR: a copy of mstar_soc)
#   bash benchmarks/device_check.sh --smoke                # on any CPU: tiny sizes, results to $RESULTS or a temp file
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0; MSTAR=""
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) SMOKE=1 ;;
    --mstar-root) MSTAR=$2; shift ;;
    *) echo "device_check.sh: unknown option $1 (use --smoke, --mstar-root DIR)" >&2; exit 2 ;;
  esac
  shift
done
if [ $SMOKE = 1 ]; then
  DEVICE=cpu; NAME="CPU smoke run ($(nproc) cores)"; RESULTS=${RESULTS:-$(mktemp)}
  DRAE=(--batch 8 --size 32 --repeats 1); CLS=(--models resnet18 --size 32 --batch 4 --steps 1)
  DET=(--size 128 --steps 1 --batch 1)
else
  DEVICE=cuda; NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); RESULTS=${RESULTS:-benchmarks/RESULTS.md}
  DRAE=(--batch 256 --size 128 --repeats 10); CLS=(--models resnet18,resnet50,swin_t --size 128 --batch 128 --steps 20)
  DET=(--size 512 --steps 10 --batch 8)
fi
LOG=$(mktemp)
{
  echo; echo "## Device check on $NAME ($(date -u +%Y-%m-%d), \`bash benchmarks/device_check.sh\`)"; echo
  python benchmarks/drae_speed.py --device $DEVICE "${DRAE[@]}"; echo
  python benchmarks/classifier_throughput.py --device $DEVICE "${CLS[@]}"; echo
  python benchmarks/task_throughput.py --task detection --backbones resnet18 --device $DEVICE "${DET[@]}"; echo
  if [ -n "$MSTAR" ]; then
    python benchmarks/mstar_time_to_accuracy.py --data-root "$MSTAR" --output "$(mktemp -d)" \
      $([ $SMOKE = 1 ] && echo --smoke) 2>/dev/null | sed -n '/^MSTAR SOC/,$p'
  fi
} | tee "$LOG"
cat "$LOG" >> "$RESULTS"
echo "appended to $RESULTS"
