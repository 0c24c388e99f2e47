# The allocators the benchmark scripts preload (tools/realprog_bench.sh, tools/idle_memory.sh),
# sourced by them. find_preloads SCRIPT COLUMN: checks that the drop-in is built
# (build/libpprsim_dmmalloc.so, or the library PPRSIM_DMMALLOC_LIB names; exit 2 with SCRIPT's
# name if not), then fills `preload` (a column's library to preload, "" for glibc) and `order`
# (the columns): glibc, the drop-in as COLUMN, "before" when PPRSIM_DMMALLOC_BEFORE names another
# build of it, and jemalloc, mimalloc and tcmalloc where Debian's packages are installed (a
# missing one is reported and skipped).
find_preloads() {
  local script=$1 column=$2
  local lib=${PPRSIM_DMMALLOC_LIB:-$PWD/build/libpprsim_dmmalloc.so}
  [ -f "$lib" ] || { echo "$script: $lib not built (bash tools/bootstrap.sh)" >&2; exit 2; }
  local arch
  arch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  declare -gA preload=([glibc]="" [$column]="$lib")
  order=(glibc "$column")
  if [ -n "${PPRSIM_DMMALLOC_BEFORE:-}" ]; then preload[before]=$PPRSIM_DMMALLOC_BEFORE; order+=(before); fi
  local spec name so
  for spec in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
    name=${spec%%:*} so=${spec#*:}
    if [ -f "/usr/lib/$arch/$so" ]; then preload[$name]="/usr/lib/$arch/$so"; order+=("$name")
    else echo "skipped $name: /usr/lib/$arch/$so not installed"; fi
  done
}
