#!/usr/bin/env bash
# A real one-node Slurm on this machine, for `pytest -m slurm` and trying `--executor slurm` (issue 16).
#
#   tools/slurm-local.sh [start]   install slurm-wlm + munge if missing (apt-get, as root), write the
#                                  config, start munged, slurmctld and slurmd; wait until the node is idle
#   tools/slurm-local.sh status    sinfo, or exit 1 when no controller answers
#   tools/slurm-local.sh stop      stop the three daemons by their PID files
#
# Idempotent: `start` on a running cluster only checks it. Runs as root without systemd or cgroups (a CI
# container): the config uses linuxproc process tracking, no task plugin, no accounting store. Without
# accounting `sacct` fails, so submitit cannot see a job that died without writing its result;
# melib.train.executor therefore gives up on such a job after its time limit and names it.
# State, spool, logs and PID files live in $SLURM_LOCAL_DIR (default /tmp/melib-slurm).
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/melib-slurm}
CPUS=${SLURM_LOCAL_CPUS:-2}
CONF=/etc/slurm/slurm.conf
export SLURM_CONF=$CONF

say() { echo "slurm-local: $*"; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        say "must run as root (it installs packages and starts the munge and slurm daemons)" >&2
        exit 2
    fi
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

answers() { timeout 10 sinfo -h >/dev/null 2>&1; }

write_config() {
    local host mem
    host=$(hostname -s)
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mkdir -p /etc/slurm "$DIR/state" "$DIR/spool" "$DIR/log"
    cat >"$CONF" <<EOF
# Written by melib tools/slurm-local.sh: one node on localhost ($CPUS CPUs).
ClusterName=melib
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
KillWait=5
EnforcePartLimits=ALL
MailProg=/bin/true
ReturnToService=2
MaxArraySize=10000
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    su -s /bin/sh munge -c "munged --force"
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.1
    done
    say "munged did not come up (munge -n | unmunge fails)" >&2
    exit 1
}

start() {
    need_root
    install_packages
    if answers && sinfo -h -o %T | grep -q idle; then
        say "already running: $(sinfo -h -o '%P %D %T %c')"
        return
    fi
    write_config
    start_munge
    pgrep -F "$DIR/slurmctld.pid" >/dev/null 2>&1 || { slurmctld -D >"$DIR/log/slurmctld.out" 2>&1 & }
    pgrep -F "$DIR/slurmd.pid" >/dev/null 2>&1 || { slurmd -D >"$DIR/log/slurmd.out" 2>&1 & }
    for _ in $(seq 100); do
        if answers && sinfo -h -o %T | grep -q idle; then
            say "up: $(sinfo -h -o '%P %D %T %c') (logs in $DIR/log)"
            return
        fi
        sleep 0.2
    done
    say "the node did not become idle in 20 s; sinfo says: $(sinfo -h 2>&1 || true)" >&2
    tail -n 20 "$DIR"/log/*.log >&2 || true
    exit 1
}

stop() {
    local name pid
    for name in slurmd slurmctld; do
        pid=$(cat "$DIR/$name.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
            say "stopped $name (pid $pid)"
        fi
        rm -f "$DIR/$name.pid"
    done
    pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        say "stopped munged (pid $pid)"
    fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) answers && sinfo || { say "no Slurm controller answers"; exit 1; } ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
