#!/bin/sh
# PID 1 of keel's IPVS test VM (written into the initramfs by `cargo xtask vm build`).
#
# Host <-> guest protocol (all over virtio-9p, see xtask/src/vm.rs):
#   mount tag "keelctl"  a host temp dir holding
#       env     shell assignments (VM_WORKDIR=...), sourced here
#       shares  lines "TAG DIR": 9p tags to mount at DIR (same path as on the host)
#       cmd.sh  the command to run (POSIX sh)
#     the guest writes the command's exit status to "status".
#   mount tag "keelusr"  optional: the host's /usr, read-only, on /usr.
# Serial console markers: "@@KEEL-VM-START" before the command runs,
# "@@KEEL-VM-STATUS=<n>" after it.
PATH=/sbin:/bin:/usr/sbin:/usr/bin
HOME=/root
export PATH HOME

mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts none /dev/pts
for d in /tmp /run /dev/shm; do mount -t tmpfs none "$d"; done
exec </dev/console >/dev/console 2>&1

done_with() {
  [ -d /vm/ctl ] && echo "$1" > /vm/ctl/status
  sync
  echo "@@KEEL-VM-STATUS=$1"
  poweroff -f
  sleep 10
  exit "$1"
}

# Modules in dependency order (computed by the host), by path: no modprobe
# database needed. Failures are printed but not fatal.
KREL=$(cat /etc/kernel-release)
while read -r rel; do
  insmod "/lib/modules/$KREL/$rel" 2>/dev/null || echo "keel-vm: cannot load $rel"
done < /etc/modules-load
hostname keel-vm
ip link set lo up

OPTS=trans=virtio,version=9p2000.L,msize=262144,cache=none
tags=$(cat /sys/bus/virtio/devices/*/mount_tag 2>/dev/null | tr '\0' '\n')
case "$tags" in *keelusr*) mount -t 9p -o "$OPTS,ro" keelusr /usr ;; esac
case "$tags" in
  *keelctl*) ;;
  *) echo "keel-vm: no keelctl share, interactive shell"; setsid cttyhack sh -l; done_with $? ;;
esac

mkdir -p /vm/ctl
mount -t 9p -o "$OPTS" keelctl /vm/ctl || done_with 125
. /vm/ctl/env
while read -r tag dir; do
  mkdir -p "$dir" && mount -t 9p -o "$OPTS" "$tag" "$dir" || done_with 125
done < /vm/ctl/shares

echo "@@KEEL-VM-START"
(cd "${VM_WORKDIR:-/}" && sh /vm/ctl/cmd.sh </dev/null)
done_with $?
