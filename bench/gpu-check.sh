#!/usr/bin/env bash
# One short run on a machine with a GPU: installs what is missing (Debian packages as root, npm
# packages from the lockfile), checks the Vulkan driver, runs the benchmark suite on `webgpu` in
# Node (npm `webgpu` = Dawn on Vulkan) and on `wasm`, runs the same steps in PyTorch (CUDA where
# the installed torch has it, else CPU, labelled), and prints ONE JSON object on stdout:
# the adapter, samples/s and achieved GFLOP/s per stage and backend, and the ratios to PyTorch.
# Progress goes to stderr; everything is also kept in the results folder it names.
#
#   bench/gpu-check.sh [--quick]
#
# Environment (all optional):
#   GPU_CHECK_QUICK=1        tiny shapes and one timed step (same as --quick): a correctness run,
#                            e.g. on Chromium's SwiftShader Vulkan driver where a full run takes hours
#   GPU_CHECK_VK_ICD=swiftshader|PATH   VK_ICD_FILENAMES for Dawn (default: the system's drivers)
#   GPU_CHECK_BUDGET=450     seconds for the whole check; a stage still running at the end is cut
#                            and reported as an error (default 450, quick 3000)
#   GPU_CHECK_SKIP="wasm torch"  parts to leave out (webgpu, wasm, torch)
#   GPU_CHECK_NO_APT=1       never call apt-get (only report what is missing)
#   GPU_CHECK_OUT=DIR        results folder (default bench/results/tmp/gpu-check-<UTC time>, git-ignored)
#   GPU_CHECK_PYTHON=python3 the Python with torch (default: the first of python3, /usr/bin/python3
#                            that has torch, preferring one with CUDA)
# See bench/README.md ("A GPU in one short run").
set -uo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)

QUICK=${GPU_CHECK_QUICK:-0}
[[ "${1:-}" == "--quick" ]] && QUICK=1
if [[ -n "${1:-}" && "${1:-}" != "--quick" ]]; then
  echo "usage: bench/gpu-check.sh [--quick]   (see the header of this file for the environment)" >&2
  exit 2
fi
BUDGET=${GPU_CHECK_BUDGET:-$([[ $QUICK == 1 ]] && echo 3000 || echo 450)}
SKIP=" ${GPU_CHECK_SKIP:-} "
OUT=${GPU_CHECK_OUT:-bench/results/tmp/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
LOG="$OUT/log.txt"
: >"$LOG"
declare -A STEP_SECONDS

log() {
  local line="[gpu-check $(($(date +%s) - START))s] $*"
  echo "$line" >&2
  echo "$line" >>"$LOG"
}
elapsed() { echo $(($(date +%s) - START)); }
# seconds left for a step: at most $1, never past the budget (10 s kept for the report)
time_for() {
  local left=$((BUDGET - $(elapsed) - 10))
  ((left < 5)) && left=5
  ((left < $1)) && echo "$left" || echo "$1"
}
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

# ---------------------------------------------------------------- Debian packages
SUDO=""
[[ $(id -u) != 0 ]] && command -v sudo >/dev/null && SUDO="sudo -n"
need=()
command -v node >/dev/null || need+=(nodejs npm)
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || need+=(libvulkan1)
command -v vulkaninfo >/dev/null || need+=(vulkan-tools)
have_torch() { "$1" -c 'import torch' >/dev/null 2>&1; }
if ! skipped torch && ! have_torch python3 && ! have_torch /usr/bin/python3; then
  # Debian's torch is a CPU build: the comparison is then labelled CPU
  need+=(python3-torch libopenblas0-pthread)
fi
if ((${#need[@]})); then
  if [[ "${GPU_CHECK_NO_APT:-0}" == 1 ]] || { [[ $(id -u) != 0 ]] && [[ -z "$SUDO" ]]; }; then
    log "missing Debian packages: ${need[*]} (not installing: GPU_CHECK_NO_APT=1 or not root)"
  else
    log "apt-get install ${need[*]}"
    t=$(date +%s)
    { DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; } >>"$LOG" 2>&1 ||
      log "apt-get failed (see $LOG); continuing with what is there"
    STEP_SECONDS[apt]=$(($(date +%s) - t))
  fi
fi
if ! command -v node >/dev/null; then
  log "no node: install Node >= 20 (apt-get install nodejs npm, or nodesource)"
  exit 1
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
((NODE_MAJOR < 20)) && log "node $(node -v) is older than the project's >= 20; continuing"

# ---------------------------------------------------------------- the GPU and its Vulkan driver
if [[ -n "${GPU_CHECK_VK_ICD:-}" ]]; then
  if [[ "$GPU_CHECK_VK_ICD" == swiftshader ]]; then
    export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  else
    export VK_ICD_FILENAMES=$GPU_CHECK_VK_ICD
  fi
  log "VK_ICD_FILENAMES=$VK_ICD_FILENAMES"
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$OUT/nvidia-smi.txt" 2>&1
  log "nvidia-smi: $(head -1 "$OUT/nvidia-smi.txt")"
  if [[ -z "${VK_ICD_FILENAMES:-}" ]] && ! grep -qls nvidia /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null; then
    # The NVIDIA driver's Vulkan ICD is libGLX_nvidia.so.0; container runtimes mount the library
    # (with the graphics capability) but not always the JSON manifest that points the loader at it.
    if ldconfig -p | grep -q 'libGLX_nvidia\.so\.0'; then
      log "writing the missing NVIDIA Vulkan ICD manifest (/etc/vulkan/icd.d/nvidia_icd.json)"
      $SUDO mkdir -p /etc/vulkan/icd.d &&
        echo '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}' |
        $SUDO tee /etc/vulkan/icd.d/nvidia_icd.json >/dev/null
    else
      log "no NVIDIA Vulkan driver (libGLX_nvidia.so.0 missing): in a container expose it with" \
        "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics; on a host install the driver's Vulkan ICD" \
        "(Debian: nvidia-vulkan-icd matching the kernel driver)"
    fi
  fi
fi
if command -v vulkaninfo >/dev/null; then
  timeout 30 vulkaninfo --summary >"$OUT/vulkaninfo.txt" 2>&1
  log "vulkaninfo: $(grep -m3 -E 'deviceName' "$OUT/vulkaninfo.txt" | sed 's/^ *//' | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- npm packages
if [[ ! -e node_modules/tsx/package.json || ! -e node_modules/webgpu/package.json || ! -e node_modules/@tensorflow/tfjs/package.json ]]; then
  log "npm ci"
  t=$(date +%s)
  npm ci --no-audit --no-fund >>"$LOG" 2>&1 || { log "npm ci failed (see $LOG)"; exit 1; }
  STEP_SECONDS[npm]=$(($(date +%s) - t))
fi
TSX=(node --import tsx)

# ---------------------------------------------------------------- sizes
if [[ $QUICK == 1 ]]; then
  SASREC=(--batch 4 --runs 1 --items 500)
  RQVAE=(--runs 1 --items 1024)
  JOINT=(--batch 4 --micro 4 --runs 1 --eval-users 1 --items 500 --max-history 5)
  TORCH=(--sasrec-batch 4 --joint-batch 4 --runs 1 --eval-users 1 --items 500 --rqvae-items 1024 --max-history 5)
else
  # paper model configurations and Instrument shapes; batches sized so the whole check fits 8 min
  SASREC=(--batch 256 --runs 2)
  RQVAE=(--runs 1)
  JOINT=(--batch 32 --runs 3 --eval-users 64)
  TORCH=(--sasrec-batch 256 --joint-batch 32 --runs 3 --eval-users 64)
fi

# one backend's suite: three bench/run.ts calls (one per stage group) into $OUT/<backend>-<group>.json
run_suite() {
  local backend=$1 cap=$2 group args t
  for group in sasrec rqvae joint; do
    case $group in
      sasrec) args=(--stage sasrec_step "${SASREC[@]}") ;;
      rqvae) args=(--stage rqvae_epoch "${RQVAE[@]}") ;;
      joint) args=(--stage joint_tok_step,joint_rec_step,beam_eval "${JOINT[@]}") ;;
    esac
    t=$(time_for "$cap")
    log "$backend $group (limit ${t}s): bench/run.ts --json --backend $backend ${args[*]}"
    local s0
    s0=$(date +%s)
    timeout --kill-after=10 "$t" "${TSX[@]}" bench/run.ts --json --backend "$backend" "${args[@]}" \
      >"$OUT/$backend-$group.json" 2>>"$OUT/$backend.log"
    local rc=$?
    ((rc == 124 || rc == 137)) && echo "{\"error\":\"timed out after ${t}s (bench/gpu-check.sh budget)\"}" >"$OUT/$backend-$group.json"
    log "$backend $group done in $(($(date +%s) - s0))s (exit $rc)"
  done
}

# ---------------------------------------------------------------- webgpu adapter + suites
CONCURRENT=0
CPUS=$(nproc)
WASM_PID=""
if ! skipped wasm; then
  if ((CPUS >= 8)); then
    # wasm in Node uses one core; on a big machine it runs beside the GPU work without slowing it
    CONCURRENT=1
    log "wasm suite in the background ($CPUS cores)"
    run_suite wasm 200 &
    WASM_PID=$!
  fi
fi

if ! skipped webgpu; then
  log "webgpu adapter (bench/adapter.ts)"
  timeout 90 "${TSX[@]}" bench/adapter.ts >"$OUT/adapter.json" 2>>"$OUT/webgpu.log"
  if grep -q '"backend":"webgpu"' "$OUT/adapter.json" 2>/dev/null; then
    log "adapter: $(node -p "const a=JSON.parse(require('fs').readFileSync('$OUT/adapter.json','utf8')).adapter; [a.vendor,a.architecture,a.description].filter(Boolean).join(' / ') + (a.isFallbackAdapter ? ' (fallback/software)' : '')")"
    t=$(date +%s)
    run_suite webgpu $([[ $QUICK == 1 ]] && echo 1500 || echo 150)
    STEP_SECONDS[webgpu]=$(($(date +%s) - t))
  else
    log "no webgpu adapter in Node: see $OUT/adapter.json and $OUT/webgpu.log"
  fi
fi

if ! skipped torch; then
  PY=${GPU_CHECK_PYTHON:-}
  if [[ -z "$PY" ]]; then
    for p in python3 /usr/bin/python3; do
      if "$p" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then PY=$p; break; fi
    done
    if [[ -z "$PY" ]]; then
      for p in python3 /usr/bin/python3; do have_torch "$p" && { PY=$p; break; }; done
    fi
  fi
  if [[ -n "$PY" ]]; then
    t=$(time_for $([[ $QUICK == 1 ]] && echo 600 || echo 150))
    log "torch (limit ${t}s): $PY bench/torch_bench.py ${TORCH[*]}"
    s0=$(date +%s)
    timeout --kill-after=10 "$t" "$PY" bench/torch_bench.py "${TORCH[@]}" >"$OUT/torch.json" 2>>"$OUT/torch.log"
    rc=$?
    ((rc == 124 || rc == 137)) && echo "{\"error\":\"timed out after ${t}s\"}" >"$OUT/torch.json"
    ((rc != 0 && rc != 124 && rc != 137)) && echo "{\"error\":\"exit $rc: $(tail -1 "$OUT/torch.log" | tr -d '"\\')\"}" >"$OUT/torch.json"
    STEP_SECONDS[torch]=$(($(date +%s) - s0))
    log "torch done (exit $rc)"
  else
    log "no Python with torch: the PyTorch comparison is left out"
    echo '{"error":"no python with torch (apt-get install python3-torch)"}' >"$OUT/torch.json"
  fi
fi

if ! skipped wasm; then
  if [[ -n "$WASM_PID" ]]; then
    log "waiting for the wasm suite"
    wait "$WASM_PID"
  else
    t=$(date +%s)
    run_suite wasm 200
    STEP_SECONDS[wasm]=$(($(date +%s) - t))
  fi
fi

# ---------------------------------------------------------------- one JSON
steps="{"
for k in "${!STEP_SECONDS[@]}"; do steps+="\"$k\":${STEP_SECONDS[$k]},"; done
steps="${steps%,}}"
cat >"$OUT/meta.json" <<EOF
{"quick": $([[ $QUICK == 1 ]] && echo true || echo false), "seconds": $(elapsed), "budget_seconds": $BUDGET,
 "step_seconds": $steps, "wasm_concurrent_with_gpu": $([[ $CONCURRENT == 1 ]] && echo true || echo false),
 "vk_icd_filenames": "${VK_ICD_FILENAMES:-}", "git_commit": "$(git rev-parse --short HEAD 2>/dev/null)",
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "command": "bench/gpu-check.sh$([[ $QUICK == 1 ]] && echo ' --quick')"}
EOF
"${TSX[@]}" bench/gpu-check-report.ts "$OUT" | tee "$OUT/gpu-check.json"
log "done in $(elapsed)s; results in $OUT"
