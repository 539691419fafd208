/*
 * ipvs-shim.c: an LD_PRELOAD library that lets keepalived's checker process start on a
 * kernel without IPVS, for `cargo xtask bench check` (benches/benches/check.rs) ONLY.
 *
 * Why: keepalived 2.2.7's checker calls ipvs_start() -> ipvs_init() before it runs any
 * health check (keepalived/check/check_daemon.c start_check), and exits with
 * "IPVS: Can't initialize ipvs" when that fails. ipvs_init()
 * (keepalived/check/libipvs.c) first tries generic netlink (genl_ctrl_resolve(sock,
 * "IPVS")), then falls back to the old [gs]etsockopt interface: a raw IPv4 socket and
 * getsockopt(IPPROTO_IP, IP_VS_SO_GET_INFO). This host's kernel has no ip_vs module.
 *
 * What is faked, and nothing else:
 *   - genl_ctrl_resolve(sock, "IPVS") returns an error (the family "does not exist"),
 *     so libipvs always takes the sockopt path, also on a kernel that has IPVS (the
 *     benchmark then never touches a real IPVS table). Other families go to libnl.
 *   - getsockopt/setsockopt at level IPPROTO_IP with an IP_VS_SO_* option name
 *     (IP_VS_BASE_CTL = 64+1024+64 .. +15, include/uapi/linux/ip_vs.h) succeed without
 *     a system call: GET_VERSION/GET_INFO describe an empty IPVS 1.2.1, GET_SERVICES and
 *     GET_DESTS return empty lists, GET_SERVICE says "no such service" (ESRCH),
 *     GET_TIMEOUT returns the kernel defaults (900/120/300 s), GET_DAEMON no sync daemon,
 *     and every SET_* (add/edit/delete services and destinations, timeouts, ...) is
 *     accepted and discarded.
 * Every other call goes to libc/libnl unchanged: the checker's scheduler, its sockets,
 * connect()s and closes, i.e. the work the benchmark measures, are keepalived's own.
 *
 * With KEEL_IPVS_SHIM_LOG=<file>, a process that made IPVS calls appends a line counting
 * the calls it faked when it makes its first other getsockopt (keepalived's first check)
 * and one at a normal exit (keepalived's parent SIGKILLs a checker that is slow to stop,
 * e.g. with 5,000 destinations to delete: then there is no exit line).
 *
 * Build: cc -O2 -shared -fPIC -o ipvs-shim.so ipvs-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* From include/uapi/linux/ip_vs.h (not included: keep the build to libc headers). */
#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_SET_MAX (IP_VS_BASE_CTL + 15)
#define IP_VS_SO_GET_VERSION IP_VS_BASE_CTL
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)
#define IP_VS_SO_GET_SERVICES (IP_VS_BASE_CTL + 2)
#define IP_VS_SO_GET_SERVICE (IP_VS_BASE_CTL + 3)
#define IP_VS_SO_GET_DESTS (IP_VS_BASE_CTL + 4)
#define IP_VS_SO_GET_DEST (IP_VS_BASE_CTL + 5)
#define IP_VS_SO_GET_TIMEOUT (IP_VS_BASE_CTL + 6)
#define IP_VS_SO_GET_DAEMON (IP_VS_BASE_CTL + 7)

struct ip_vs_getinfo {
	unsigned int version;
	unsigned int size;
	unsigned int num_services;
};

struct ip_vs_timeout_user {
	int tcp_timeout;
	int tcp_fin_timeout;
	int udp_timeout;
};

/* struct ip_vs_get_dests: protocol (u16), addr (be32), port (be16), fwmark (u32),
 * num_dests (unsigned int) at offset 16, then the entries. */
#define GET_DESTS_NUM_OFFSET 16

static unsigned long faked_get[8];
static unsigned long faked_set[16];
static unsigned long faked_genl;

/* Append one line with the counts to $KEEL_IPVS_SHIM_LOG (when set and anything was faked). */
static void report(const char *when)
{
	const char *path = getenv("KEEL_IPVS_SHIM_LOG");
	unsigned long get = 0, set = 0;
	FILE *f;
	int i;

	if (!path)
		return;
	for (i = 0; i < 8; i++)
		get += faked_get[i];
	for (i = 0; i < 16; i++)
		set += faked_set[i];
	if (!faked_genl && !get && !set)
		return; /* a process that never touched IPVS (e.g. the shell that ran it) */
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "pid %d %s: genl IPVS %lu, getsockopt %lu (info %lu), setsockopt %lu (add service %lu, add dest %lu, edit dest %lu, del dest %lu)\n",
		(int)getpid(), when, faked_genl, get, faked_get[1], set, faked_set[2], faked_set[7],
		faked_set[9], faked_set[8]);
	fclose(f);
}

/* The first non-IPVS getsockopt after IPVS was set up is keepalived's first check
 * (SO_TYPE in socket_bind_connect): report what was faked up to there. */
static int reported_start;

static void maybe_report_start(void)
{
	if (!reported_start && faked_get[1]) {
		reported_start = 1;
		report("at its first check");
	}
}

static int is_ipvs(int level, int optname, int max)
{
	return level == IPPROTO_IP && optname >= IP_VS_BASE_CTL && optname <= max;
}

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	static int (*real)(int, int, int, void *, socklen_t *);

	if (!is_ipvs(level, optname, IP_VS_SO_GET_DAEMON)) {
		maybe_report_start();
		if (!real)
			real = (int (*)(int, int, int, void *, socklen_t *))dlsym(RTLD_NEXT, "getsockopt");
		return real(fd, level, optname, optval, optlen);
	}
	faked_get[optname - IP_VS_BASE_CTL]++;
	if (!optval || !optlen) {
		errno = EINVAL;
		return -1;
	}
	switch (optname) {
	case IP_VS_SO_GET_VERSION: {
		const char *v = "IP Virtual Server version 1.2.1 (size=4096)";
		size_t n = strlen(v) + 1;
		if (*optlen < n)
			n = *optlen;
		memcpy(optval, v, n);
		((char *)optval)[n ? n - 1 : 0] = '\0';
		return 0;
	}
	case IP_VS_SO_GET_INFO: {
		struct ip_vs_getinfo i = { 0x010201, 4096, 0 };
		if (*optlen < sizeof(i)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(optval, &i, sizeof(i));
		*optlen = sizeof(i);
		return 0;
	}
	case IP_VS_SO_GET_SERVICES:
		if (*optlen < sizeof(unsigned int)) {
			errno = EINVAL;
			return -1;
		}
		memset(optval, 0, sizeof(unsigned int)); /* num_services = 0 */
		return 0;
	case IP_VS_SO_GET_DESTS:
		if (*optlen < GET_DESTS_NUM_OFFSET + sizeof(unsigned int)) {
			errno = EINVAL;
			return -1;
		}
		memset((char *)optval + GET_DESTS_NUM_OFFSET, 0, sizeof(unsigned int));
		return 0;
	case IP_VS_SO_GET_TIMEOUT: {
		struct ip_vs_timeout_user t = { 900, 120, 300 };
		if (*optlen < sizeof(t)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(optval, &t, sizeof(t));
		*optlen = sizeof(t);
		return 0;
	}
	case IP_VS_SO_GET_DAEMON:
		memset(optval, 0, *optlen); /* state 0: no sync daemon */
		return 0;
	default: /* GET_SERVICE, GET_DEST: the table is empty */
		errno = ESRCH;
		return -1;
	}
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (!is_ipvs(level, optname, IP_VS_SO_SET_MAX)) {
		if (!real)
			real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
		return real(fd, level, optname, optval, optlen);
	}
	faked_set[optname - IP_VS_BASE_CTL]++;
	return 0;
}

struct nl_sock;

int genl_ctrl_resolve(struct nl_sock *sk, const char *name)
{
	static int (*real)(struct nl_sock *, const char *);

	if (name && strcmp(name, "IPVS") == 0) {
		faked_genl++;
		return -12; /* -NLE_OBJ_NOTFOUND */
	}
	if (!real)
		real = (int (*)(struct nl_sock *, const char *))dlsym(RTLD_NEXT, "genl_ctrl_resolve");
	if (!real)
		return -12;
	return real(sk, name);
}

__attribute__((destructor)) static void report_exit(void)
{
	report("at exit");
}
