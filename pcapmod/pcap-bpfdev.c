/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * "bpf:" capture module for a Linux libpcap: devices named bpf:IFACE are
 * captured through bpfdev's /dev/bpf by libpcap's unmodified pcap-bpf.c
 * (see pcap-bpfdev-bsd.c); every other name stays with pcap-linux.c.
 *
 * libpcap 1.10.3 has no hook for out-of-tree modules, so the build borrows
 * the netmap row of pcap.c's capture_source_types[] table: pcap.c is
 * compiled with -DPCAP_SUPPORT_NETMAP -Dpcap_netmap_create=bpfdev_create
 * -Dpcap_netmap_findalldevs=bpfdev_findalldevs (scripts/build-libpcap).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "pcap-int.h"

#define BPFDEV_PREFIX		"bpf:"
#define BPFDEV_PREFIX_LEN	4

pcap_t *bpfdev_bsd_create_interface(const char *device, char *ebuf);
pcap_t *bpfdev_create(const char *device, char *ebuf, int *is_ours);
int bpfdev_findalldevs(pcap_if_list_t *devlistp, char *ebuf);

/*
 * pcap_t has no per-module slot left once pcap-bpf.c owns p->priv, so the
 * original activate_op is kept here; it is the same function for every
 * handle (pcap_activate_bpf).
 */
static int (*bsd_activate)(pcap_t *);

static int
bpfdev_activate(pcap_t *p)
{
	char *name = p->opt.device;

	/* BIOCSETIF wants the Linux interface name: drop the prefix. */
	if (name != NULL &&
	    strncmp(name, BPFDEV_PREFIX, BPFDEV_PREFIX_LEN) == 0) {
		char *plain = strdup(name + BPFDEV_PREFIX_LEN);

		if (plain == NULL) {
			pcap_fmt_errmsg_for_errno(p->errbuf, PCAP_ERRBUF_SIZE,
			    errno, "strdup");
			return PCAP_ERROR;
		}
		free(name);
		p->opt.device = plain;
	}
	return bsd_activate(p);
}

pcap_t *
bpfdev_create(const char *device, char *ebuf, int *is_ours)
{
	pcap_t *p;

	*is_ours = strncmp(device, BPFDEV_PREFIX, BPFDEV_PREFIX_LEN) == 0;
	if (!*is_ours)
		return NULL;
	p = bpfdev_bsd_create_interface(device + BPFDEV_PREFIX_LEN, ebuf);
	if (p == NULL)
		return NULL;
	bsd_activate = p->activate_op;
	p->activate_op = bpfdev_activate;
	return p;
}

int
bpfdev_findalldevs(pcap_if_list_t *devlistp, char *ebuf)
{
	struct if_nameindex *ifs, *i;
	int sock;

	ifs = if_nameindex();
	if (ifs == NULL)
		return 0;	/* no list, no bpf: devices; not an error */
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	for (i = ifs; i->if_index != 0 && i->if_name != NULL; i++) {
		char name[BPFDEV_PREFIX_LEN + IF_NAMESIZE];
		bpf_u_int32 flags = PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE;
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		strncpy(ifr.ifr_name, i->if_name, sizeof(ifr.ifr_name) - 1);
		if (sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
			if (ifr.ifr_flags & IFF_UP)
				flags |= PCAP_IF_UP;
			if (ifr.ifr_flags & IFF_RUNNING)
				flags |= PCAP_IF_RUNNING;
			if (ifr.ifr_flags & IFF_LOOPBACK)
				flags |= PCAP_IF_LOOPBACK;
		}
		snprintf(name, sizeof(name), BPFDEV_PREFIX "%s", i->if_name);
		if (add_dev(devlistp, name, flags,
		    "BSD bpf(4) capture through bpfdev's /dev/bpf", ebuf) == NULL) {
			if (sock >= 0)
				close(sock);
			if_freenameindex(ifs);
			return -1;
		}
	}
	if (sock >= 0)
		close(sock);
	if_freenameindex(ifs);
	return 0;
}
