#!/usr/bin/env bash
# A one-node SLURM cluster with accounting, for testing the workflow's SLURM profile on one machine.
#
#   sudo tests/slurm/cluster.sh up       # install (Debian 12 packages) if missing, configure, start, wait idle
#   sudo tests/slurm/cluster.sh status   # daemons, sinfo
#   sudo tests/slurm/cluster.sh down     # stop every daemon this script started (by pid file)
#
# Runs as root without systemd and without cgroups: proctrack/linuxproc, task/none, jobacct_gather/none.
# Accounting (needed by `sacct`, which the SLURM executor plugin polls) goes through slurmdbd to a private
# MariaDB server with its own data directory, socket and port, so a system MariaDB is left alone.
# Start order: munged -> mariadbd -> slurmdbd -> `sacctmgr add cluster` -> slurmctld -> slurmd.
#
# The node gets two partitions on the same node, `cpu` (default) and `gpu`, matching profiles/slurm, and a
# GRES `gpu` backed by fake device nodes (nothing enforced) so that jobs submitted with `--gpus=1` are
# scheduled on a machine without a GPU; the workflow itself decides its device from its config.
#
# The config lives at /etc/slurm/slurm.conf: the plugin's job step clears every SLURM_* variable,
# SLURM_CONF included, so a config elsewhere would not be found inside jobs.
#
# Environment: SAEGEOM_SLURM_STATE (state directory, default /var/tmp/saegeom-slurm),
# SAEGEOM_SLURM_DB_PORT (default 3317), SAEGEOM_SLURM_GPUS (fake GPU count, default 2),
# SAEGEOM_SLURM_TIMEOUT (seconds to wait for each daemon, default 60).
set -euo pipefail

STATE=${SAEGEOM_SLURM_STATE:-/var/tmp/saegeom-slurm}
DB_PORT=${SAEGEOM_SLURM_DB_PORT:-3317}
DBD_PORT=${SAEGEOM_SLURM_DBD_PORT:-6819}
N_GPUS=${SAEGEOM_SLURM_GPUS:-2}
TIMEOUT=${SAEGEOM_SLURM_TIMEOUT:-60}
CLUSTER=saegeom
RUN=$STATE/run
LOG=$STATE/log
CONF_DIR=/etc/slurm
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
DAEMONS_UP=(munged mariadbd slurmdbd slurmctld slurmd)

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages, writes $CONF_DIR and starts daemons)"

node_name() { hostname -s; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s until it succeeds or SECONDS pass.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "timed out after ${limit}s waiting for $what (logs: $LOG)"
    fi
    sleep 0.5
  done
}

pid_alive() {  # pid file -> running?
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand (Debian/Ubuntu packages)"
  # policy-rc.d keeps the packages' own init scripts from starting daemons we start ourselves
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >"$LOG/apt.log" 2>&1 || {
    apt-get update -q >>"$LOG/apt.log" 2>&1 && apt-get install -y -q "${missing[@]}" >>"$LOG/apt.log" 2>&1
  } || die "apt-get install ${missing[*]} failed (see $LOG/apt.log)"
}

write_configs() {
  local node cpus mem
  node=$(node_name)
  cpus=$(nproc)
  # leave 5% of memory to the OS; RealMemory bounds every job's --mem
  mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.95}' /proc/meminfo)
  mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/slurmd" "$RUN" "$LOG"
  cat >"$CONF_DIR/slurm.conf" <<EOF
# Written by saegeom tests/slurm/cluster.sh: one-node test cluster (no cgroups, accounting via slurmdbd)
ClusterName=$CLUSTER
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu
JobCompType=jobcomp/none
# rule names (the plugin puts them in --comment) become visible in `sacct -o JobID,State,Comment`
AccountingStoreFlags=job_comment
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
MpiDefault=none
NodeName=$node CPUs=$cpus RealMemory=$mem Gres=gpu:$N_GPUS State=UNKNOWN
PartitionName=cpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node Default=NO MaxTime=INFINITE State=UP
EOF
  # Fake GPUs: gres/gpu needs device files (a count-only line is reported as 0 GPUs), so the "devices" are
  # character nodes with /dev/null's numbers. Nothing is bound or enforced (task/none).
  mkdir -p "$STATE/dev"
  local i
  for ((i = 0; i < N_GPUS; i++)); do
    [ -c "$STATE/dev/nvidia$i" ] || mknod "$STATE/dev/nvidia$i" c 1 3 || die "mknod $STATE/dev/nvidia$i failed"
  done
  echo "NodeName=$node Name=gpu File=$STATE/dev/nvidia[0-$((N_GPUS - 1))]" >"$CONF_DIR/gres.conf"
  cat >"$CONF_DIR/slurmdbd.conf" <<EOF
# Written by saegeom tests/slurm/cluster.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=root
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$CONF_DIR/slurmdbd.conf"
}

start_munge() {
  if pid_alive "$RUN/munged.pid"; then return; fi
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null || \
    /usr/sbin/create-munge-key -f; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  # an earlier munged not started by us (package install) would hold the socket
  if [ -S /run/munge/munge.socket.2 ] && munge -n >/dev/null 2>&1; then
    log "munged already running (not started here, so \`down\` leaves it); reusing it"
    return
  fi
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  wait_for "$TIMEOUT" munged test -s /run/munge/munged.pid
  cp /run/munge/munged.pid "$RUN/munged.pid"
  wait_for "$TIMEOUT" "munge credentials" munge -n
}

mysql_cmd() { mariadb --protocol=socket -S "$RUN/mysqld.sock" -uroot "$@"; }

start_mariadb() {
  if pid_alive "$RUN/mariadbd.pid"; then return; fi
  if [ ! -d "$STATE/mysql/mysql" ]; then
    mkdir -p "$STATE/mysql"
    chown mysql:mysql "$STATE/mysql"
    mariadb-install-db --user=mysql --datadir="$STATE/mysql" --auth-root-authentication-method=normal \
      >"$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $LOG/mariadb-install.log)"
  fi
  chown mysql:mysql "$RUN"
  # --no-defaults: a system my.cnf must not move the data directory, socket or port
  /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --socket="$RUN/mysqld.sock" --pid-file="$RUN/mariadbd.pid" \
    --log-error="$LOG/mariadb.log" --skip-log-bin --innodb-buffer-pool-size=64M \
    --innodb_lock_wait_timeout=900 >/dev/null 2>&1 &
  wait_for "$TIMEOUT" "MariaDB on port $DB_PORT" mysql_cmd -e "select 1"
  # slurmdbd connects over TCP as root without a password
  mysql_cmd -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" \
    || die "could not grant slurmdbd access to MariaDB (see $LOG/mariadb.log)"
}

start_slurmdbd() {
  if pid_alive "$RUN/slurmdbd.pid"; then return; fi
  /usr/sbin/slurmdbd
  wait_for "$TIMEOUT" "slurmdbd on port $DBD_PORT" sacctmgr -n show cluster
}

register_cluster() {
  if ! sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
  fi
}

start_slurmctld() {
  if pid_alive "$RUN/slurmctld.pid"; then return; fi
  # -c: start from a clean state (no jobs or node drain reasons of an earlier test cluster)
  /usr/sbin/slurmctld -c -i
  wait_for "$TIMEOUT" slurmctld scontrol ping
}

node_registered() { ! sinfo -h -N -n "$(node_name)" -o %t | grep -Eq '^(unk|n/a)'; }
node_idle() { sinfo -h -N -n "$(node_name)" -o %t | grep -Eq '^(idle|mix|alloc)$'; }

start_slurmd() {
  if ! pid_alive "$RUN/slurmd.pid"; then
    /usr/sbin/slurmd
  fi
  wait_for "$TIMEOUT" "node $(node_name) to register with slurmctld" node_registered
  if ! node_idle; then
    # a drain reason left by an earlier configuration (e.g. a GRES mismatch) survives a restart
    log "node $(node_name) is $(sinfo -h -N -n "$(node_name)" -o %t) ($(sinfo -h -N -n "$(node_name)" -o %E)); resuming it"
    scontrol update nodename="$(node_name)" state=resume || true
  fi
  wait_for "$TIMEOUT" "node $(node_name) to be idle in sinfo (sinfo -R says why not)" node_idle
}

up() {
  mkdir -p "$RUN" "$LOG"
  install_packages
  write_configs
  start_munge
  start_mariadb
  start_slurmdbd
  register_cluster
  start_slurmctld
  start_slurmd
  log "up: cluster $CLUSTER, node $(node_name), partitions cpu (default) and gpu; logs in $LOG"
}

stop_pid() {  # name: SIGTERM, wait up to TIMEOUT, then SIGKILL
  local name=$1 file=$RUN/$1.pid pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "$name (pid $pid) did not stop in ${TIMEOUT}s; killing it"
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
  rm -f "$file"
}

down() {
  # reverse start order; a munged this script did not start has no pid file here and stays up
  local i
  for ((i = ${#DAEMONS_UP[@]} - 1; i >= 0; i--)); do
    stop_pid "${DAEMONS_UP[$i]}"
  done
  log "down"
}

status() {
  local d rc=0
  for d in "${DAEMONS_UP[@]}"; do
    if pid_alive "$RUN/$d.pid"; then echo "$d: running (pid $(cat "$RUN/$d.pid"))"; else echo "$d: stopped"; rc=1; fi
  done
  if [ $rc = 0 ]; then sinfo; fi
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
