/* capture_file.c - offline source: pcap and pcapng files (or stdin) through libpcap. */
#include "capture/capture_int.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture_file {
	struct capture base;
	pcap_t *p;
	int is_pcapng;
	uint64_t offset; /* byte offset of the next record, when it can be known */
	int offset_known;
	capture_cb cb;
	void *user;
	char *iobuf;
};

static const struct capture_ops file_ops;

#define CAPTURE_FILE_BUF (1 << 16)

/* Reads a capture from fp (owned from here on, closed on failure too);
 * name is used in messages. */
static struct capture *open_fp(FILE *fp, const char *name, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct capture_file *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		if (fp != stdin)
			fclose(fp);
		return NULL;
	}
	/* Our own FILE buffer, large: libpcap reads a savefile with two small
	 * freads per record, and the default 4 KiB buffer turns that into a
	 * read() syscall every few packets. stdin outlives this handle: its
	 * buffer must too. */
	static char stdin_buf[CAPTURE_FILE_BUF];
	char *iobuf = fp == stdin ? stdin_buf : (c->iobuf = malloc(CAPTURE_FILE_BUF));
	if (iobuf)
		setvbuf(fp, iobuf, _IOFBF, CAPTURE_FILE_BUF);
	/* A classic pcap says its resolution in its magic number; read it
	 * where the stream can go back (a regular file). Elsewhere (pipes,
	 * pcapng, whose resolution is per interface) it is not known up front:
	 * taken as ns, which keeps either. */
	int nano = 1;
	long start = ftell(fp);
	uint8_t magic[4];
	if (start >= 0 && fread(magic, 1, 4, fp) == 4) {
		uint32_t le = (uint32_t)magic[0] | (uint32_t)magic[1] << 8 |
			      (uint32_t)magic[2] << 16 | (uint32_t)magic[3] << 24;
		if (le == 0xa1b2c3d4u || le == 0xd4c3b2a1u)
			nano = 0; /* microseconds, either byte order */
	}
	if (start >= 0 && fseek(fp, start, SEEK_SET)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		if (fp != stdin)
			fclose(fp);
		free(c->iobuf);
		free(c);
		return NULL;
	}
	clearerr(fp);
	c->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!c->p) {
		if (fp != stdin)
			fclose(fp);
		snprintf(err, errlen, "%s: %s", name, perr);
		free(c->iobuf);
		free(c);
		return NULL;
	}
	c->base.ops = &file_ops;
	c->base.linktype = pcap_datalink(c->p);
	c->base.nano = nano;
	/* pcapng files report major version 1; for pcap (version 2) the record
	 * layout gives exact offsets. */
	c->is_pcapng = pcap_major_version(c->p) != 2;
	long pos = c->is_pcapng && fp ? ftell(fp) : -1;
	c->offset = c->is_pcapng ? (pos >= 0 ? (uint64_t)pos : 0) : 24;
	c->offset_known = !c->is_pcapng || pos >= 0;
	return &c->base;
}

struct capture *capture_open_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	return open_fp(fp, strcmp(path, "-") ? path : "standard input", err, errlen);
}

struct capture *capture_open_fd(int fd, const char *name, char *err, size_t errlen)
{
	FILE *fp = fdopen(fd, "rb");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		close(fd);
		return NULL;
	}
	return open_fp(fp, name, err, errlen);
}

static int file_set_filter(struct capture *base, const char *bpf, char *err, size_t errlen)
{
	return capture_pcap_setfilter(((struct capture_file *)base)->p, bpf, err, errlen);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture_file *c = (struct capture_file *)user;
	struct capture_frame f = {
		.data = bytes,
		.caplen = h->caplen,
		.wirelen = h->len > h->caplen ? h->len : h->caplen,
		.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
		.linktype = c->base.linktype,
	};
	c->base.received++;
	c->cb(c->user, &f);
	/* A pcap record is a 16-byte header and caplen bytes: exact offsets
	 * without a syscall per packet. pcapng offsets come from ftell per batch. */
	if (!c->is_pcapng)
		c->offset += 16 + (uint64_t)h->caplen;
}

static int file_dispatch(struct capture *base, int max, capture_cb cb, void *user)
{
	struct capture_file *c = (struct capture_file *)base;
	c->cb = cb;
	c->user = user;
	int n = pcap_dispatch(c->p, max > 0 ? max : 4096, on_packet, (u_char *)c);
	FILE *fp = c->is_pcapng ? pcap_file(c->p) : NULL;
	long pos = fp ? ftell(fp) : -1;
	if (n >= 0) {
		if (c->is_pcapng) {
			if (pos >= 0)
				c->offset = (uint64_t)pos;
			else
				c->offset_known = 0;
		}
		return n;
	}
	if (n == PCAP_ERROR_BREAK)
		return 0;
	/* The record that failed starts where the last good one ended; on a
	 * pipe the offset of a pcap (not pcapng) file is computed instead. */
	if (c->offset_known)
		snprintf(c->base.err, sizeof(c->base.err),
			 c->is_pcapng ? "corrupt or truncated capture after %llu packets, in the block "
					"at or after byte offset %llu: %s"
				      : "corrupt or truncated capture after %llu packets, at byte offset %llu: %s",
			 (unsigned long long)c->base.received, (unsigned long long)c->offset,
			 pcap_geterr(c->p));
	else
		snprintf(c->base.err, sizeof(c->base.err), "corrupt or truncated capture after %llu packets: %s",
			 (unsigned long long)c->base.received, pcap_geterr(c->p));
	return -EIO;
}

static void file_close(struct capture *base)
{
	struct capture_file *c = (struct capture_file *)base;
	if (c->p)
		pcap_close(c->p); /* also closes the FILE */
	free(c->iobuf);
	free(c);
}

static const struct capture_ops file_ops = {
	.dispatch = file_dispatch,
	.set_filter = file_set_filter,
	.close = file_close,
};
