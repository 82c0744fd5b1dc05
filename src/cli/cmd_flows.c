/* cmd_flows.c - `skydive flows --read FILE` (offline) or `--interface IF`
 * (live): wires a capture into a flow table through the shared loop
 * (flow/flow_loop.h) and writes the flows as JSON, or the kept raw packets as
 * a pcap. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/pcap_out.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/util.h"
#include "decode/decode.h"
#include "decode/xlayer.h"
#include "flow/flow_json.h"
#include "flow/flow_loop.h"
#include "flow/flow_table.h"

struct run {
	pthread_mutex_t lock; /* output and pcap, shared by live workers */
	struct flow_table *table;
	int linktype;
	int json;
	struct buf out;
	uint64_t emitted;
	struct pcap_out *pcap;
	int progress;
	struct timespec last_progress;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: skydive flows --read FILE [OPTIONS]\n"
		"       skydive flows --interface IF [--netns NS] [--type afpacket|pcap] [OPTIONS]\n\n"
		"Reads a pcap or pcapng file, or captures on an interface, and prints the flows\n"
		"as the JSON array that G.Flows() returns, or the raw packets the flows kept as\n"
		"a pcap.\n\n"
		"Options:\n"
		"  -r, --read FILE            capture file to read, '-' for standard input\n"
		"  -i, --interface IF         capture live on IF (until --duration, --count or Ctrl-C)\n"
		"      --netns NS             IF is in network namespace NS (/var/run/netns/NS)\n"
		"      --type T               afpacket (TPACKET_V3 ring, default) or pcap (libpcap)\n"
		"      --workers N            afpacket: N capture threads sharing IF through\n"
		"                             PACKET_FANOUT, each with its own flow table\n"
		"      --duration S           stop a live capture after S seconds\n"
		"  -c, --count N              stop a live capture after N packets\n"
		"  -f, --bpf EXPR             only packets matching this BPF filter (tcpdump syntax)\n"
		"      --rawpacket-limit N    raw packets kept per flow: 0 none (default), N the first N,\n"
		"                             -1 every packet\n"
		"      --rawpacket-budget B   bytes of raw packets kept per --update window; what does\n"
		"                             not fit is dropped and counted (default: no limit)\n"
		"      --header-size N        bytes kept of each raw packet, 14..65535 (default 256)\n"
		"      --layer-key-mode M     L2 (default) or L3: whether MAC addresses are part of a\n"
		"                             flow's identity\n"
		"      --format F             json (default) or pcap (the kept raw packets)\n"
		"  -o, --output FILE          write to FILE instead of standard output\n"
		"      --node-tid TID         capture node TID, part of each flow's UUID\n"
		"      --capture-id ID        CaptureID put in each flow\n"
		"      --extra-tcp-metric     fill TCPMetric (SYN/FIN/RST times and TTLs)\n"
		"      --ip-defrag            reassemble IPv4/IPv6 fragments before accounting and\n"
		"                             fill IPMetric (Skydive's IPDefrag)\n"
		"      --reassemble-tcp       reassemble TCP streams and fill TCPMetric's segment\n"
		"                             counters (Skydive's ReassembleTCP); with\n"
		"                             --extra-layer DNS, DNS over TCP is read from the\n"
		"                             reassembled streams\n"
		"      --extra-layer L        decode an extra layer into the flows: DNS, DHCPv4 or\n"
		"                             VRRP (repeatable; Skydive's ExtraLayers)\n"
		"      --app-port P:PORT=NAME application name for a port, e.g. tcp:8080=HTTP\n"
		"                             (repeatable)\n"
		"      --max-flows N          flows tracked at once (default 4000000); more are\n"
		"                             dropped and counted\n"
		"      --expire S             idle seconds before a flow expires (default 600)\n"
		"      --update S             seconds between LastUpdateMetric windows (default 60)\n"
		"      --stats                print counters to standard error at the end\n"
		"      --no-progress          no progress line, even on a terminal\n"
		"  -h, --help                 this help\n\n"
		"Environment: SKYDIVE_FLOW_EXPIRE, SKYDIVE_FLOW_UPDATE, SKYDIVE_FLOW_MAX_ENTRIES,\n"
		"SKYDIVE_FLOW_DEFAULT_LAYER_KEY_MODE, SKYDIVE_FLOW_APPLICATION_TIMEOUT_ARP and _DNS set\n"
		"the defaults of the matching options.\n\n"
		"Example:\n"
		"  skydive flows --read trace.pcap --bpf icmp --rawpacket-limit 5 --format pcap -o icmp.pcap\n");
}

static int env_u32(const char *name, int64_t min, int64_t max, uint32_t *out)
{
	const char *v = getenv(name);
	int64_t x;
	if (!v)
		return 0;
	if (parse_i64(v, min, max, &x)) {
		fprintf(stderr, "skydive flows: %s='%s' must be an integer in %lld..%lld\n", name, v,
			(long long)min, (long long)max);
		return -1;
	}
	*out = (uint32_t)x;
	return 0;
}

static int opt_int(const char *name, const char *v, int64_t min, int64_t max, int64_t *out)
{
	if (parse_i64(v, min, max, out)) {
		fprintf(stderr, "skydive flows: --%s '%s': expected an integer in %lld..%lld\n", name, v,
			(long long)min, (long long)max);
		return -1;
	}
	return 0;
}

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	struct run *r = user;
	/* Offline, a flow is printed once, when it leaves the table. */
	if (ev != FLOW_EV_EXPIRE || !r->json)
		return;
	pthread_mutex_lock(&r->lock);
	buf_puts(&r->out, r->emitted ? ",\n" : "\n");
	flow_json_write(&r->out, t, f, lu_start_ms, lu_last_ms);
	r->emitted++;
	buf_maybe_flush(&r->out);
	pthread_mutex_unlock(&r->lock);
}

static int on_raw(void *user, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		  uint64_t ts_ns)
{
	struct run *r = user;
	if (!r->pcap)
		return 0; /* JSON output: only RawPacketsCaptured is reported */
	pthread_mutex_lock(&r->lock);
	int ret = pcap_out_write(r->pcap, data, caplen, wirelen, ts_ns);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static void show_progress(struct run *r, int final)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && now.tv_sec == r->last_progress.tv_sec)
		return;
	r->last_progress = now;
	const struct flow_stats *st = flow_table_stats(r->table);
	fprintf(stderr, "\r%llu packets, %u flows active, %llu flows done%s",
		(unsigned long long)st->packets, st->flow_count,
		(unsigned long long)st->flows_expired, final ? "\n" : "");
}

/* After each batch of a file (4096 frames): the progress line, at most once a
 * second. */
static int file_after_batch(void *user, int n, uint64_t now_ns)
{
	struct run *r = user;
	if (r->progress)
		show_progress(r, 0);
	return 0;
}

static void print_stats(const struct flow_stats *st)
{
	fprintf(stderr,
		"packets %llu, bytes %llu, undecodable %llu, partially decoded %llu, flows %llu, "
		"flows dropped (table full) %llu, raw packets kept %llu, raw packets dropped %llu\n",
		(unsigned long long)st->packets, (unsigned long long)st->bytes,
		(unsigned long long)st->undecodable, (unsigned long long)st->partial,
		(unsigned long long)st->flows_created, (unsigned long long)st->flow_dropped,
		(unsigned long long)st->raw_kept, (unsigned long long)st->raw_dropped);
	if (st->frag_frames) /* IPDefrag */
		fprintf(stderr,
			"fragments %llu, datagrams reassembled %llu, fragments refused invalid %llu, "
			"refused for room %llu, datagrams timed out %llu (%llu fragments), peak bytes "
			"held %llu\n",
			(unsigned long long)st->frag_frames, (unsigned long long)st->frag_reassembled,
			(unsigned long long)st->frag_errors, (unsigned long long)st->frag_no_room,
			(unsigned long long)st->frag_timeouts,
			(unsigned long long)st->frag_timeout_fragments,
			(unsigned long long)st->frag_peak_bytes);
	if (st->tcp_buffered || st->tcp_cut) /* ReassembleTCP */
		fprintf(stderr,
			"TCP segments buffered %llu, holes given up: buffer full %llu, timeout %llu, "
			"flow ended %llu; segments cut by the capture %llu, peak bytes held %llu\n",
			(unsigned long long)st->tcp_buffered, (unsigned long long)st->tcp_gaps_full,
			(unsigned long long)st->tcp_gaps_timeout,
			(unsigned long long)st->tcp_gaps_closed, (unsigned long long)st->tcp_cut,
			(unsigned long long)st->tcp_peak_bytes);
	if (st->layers_no_slot || st->layers_cut || st->layers_tcp_partial)
		fprintf(stderr,
			"extra layers not kept (no slot) %llu, DNS messages cut %llu, DNS over TCP "
			"not whole in one segment %llu\n",
			(unsigned long long)st->layers_no_slot, (unsigned long long)st->layers_cut,
			(unsigned long long)st->layers_tcp_partial);
	if (st->dns_tcp_messages || st->dns_tcp_too_big || st->dns_tcp_no_room || st->dns_tcp_hole ||
	    st->dns_tcp_lost_sync || st->dns_tcp_unfinished) /* ReassembleTCP + DNS */
		fprintf(stderr,
			"DNS over TCP messages from the streams %llu, skipped: too big %llu, no room "
			"%llu, cut by a hole %llu, unfinished at the end %llu; streams out of sync "
			"after a hole %llu\n",
			(unsigned long long)st->dns_tcp_messages, (unsigned long long)st->dns_tcp_too_big,
			(unsigned long long)st->dns_tcp_no_room, (unsigned long long)st->dns_tcp_hole,
			(unsigned long long)st->dns_tcp_unfinished,
			(unsigned long long)st->dns_tcp_lost_sync);
}

/* ---- live capture ---------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct worker {
	pthread_t th;
	struct run *r;
	struct capture *cap;
	struct flow_table *table;
	uint64_t deadline_ns; /* 0 = none */
	int64_t max_packets;  /* 0 = none; shared budget via *seen */
	uint64_t *seen;
	int err;
};

static int live_after_batch(void *user, int n, uint64_t now)
{
	struct worker *w = user;
	if (w->max_packets &&
	    __atomic_add_fetch(w->seen, (uint64_t)n, __ATOMIC_RELAXED) >= (uint64_t)w->max_packets)
		stop_requested = 1;
	if (w->deadline_ns && now >= w->deadline_ns)
		stop_requested = 1;
	return stop_requested;
}

/* One worker: its capture into its table until a stop; its flows leave at
 * the end (the output is shared under r->lock). */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct flow_loop_opts lo = {.live = 1, .after_batch = live_after_batch, .user = w};
	if (!stop_requested && flow_loop_run(w->cap, w->table, &lo)) {
		w->err = 1;
		stop_requested = 1;
	}
	return NULL;
}

struct live_opts {
	const char *iface, *netns, *type, *bpf;
	int64_t duration_s, count, workers;
	int want_pcap, stats;
};

static void add_stats(struct flow_stats *sum, const struct flow_stats *st)
{
	sum->packets += st->packets;
	sum->bytes += st->bytes;
	sum->undecodable += st->undecodable;
	sum->partial += st->partial;
	sum->flows_created += st->flows_created;
	sum->flow_dropped += st->flow_dropped;
	sum->raw_kept += st->raw_kept;
	sum->raw_dropped += st->raw_dropped;
	sum->frag_frames += st->frag_frames;
	sum->frag_reassembled += st->frag_reassembled;
	sum->frag_errors += st->frag_errors;
	sum->frag_no_room += st->frag_no_room;
	sum->frag_timeouts += st->frag_timeouts;
	sum->frag_timeout_fragments += st->frag_timeout_fragments;
	sum->frag_peak_bytes += st->frag_peak_bytes;
	sum->tcp_buffered += st->tcp_buffered;
	sum->tcp_gaps_full += st->tcp_gaps_full;
	sum->tcp_gaps_timeout += st->tcp_gaps_timeout;
	sum->tcp_gaps_closed += st->tcp_gaps_closed;
	sum->tcp_cut += st->tcp_cut;
	sum->tcp_peak_bytes += st->tcp_peak_bytes;
	sum->layers_no_slot += st->layers_no_slot;
	sum->layers_cut += st->layers_cut;
	sum->layers_tcp_partial += st->layers_tcp_partial;
	sum->dns_tcp_messages += st->dns_tcp_messages;
	sum->dns_tcp_too_big += st->dns_tcp_too_big;
	sum->dns_tcp_no_room += st->dns_tcp_no_room;
	sum->dns_tcp_hole += st->dns_tcp_hole;
	sum->dns_tcp_lost_sync += st->dns_tcp_lost_sync;
	sum->dns_tcp_unfinished += st->dns_tcp_unfinished;
}

/* Captures on an interface until --duration, --count or a signal; workers
 * share the interface through a PACKET_FANOUT group (afpacket), each with
 * its own flow table: no lock on the packet path. */
static int run_live(struct run *r, const struct flow_table_opts *o, const struct live_opts *l,
		    FILE *out)
{
	enum { MAX_WORKERS = 64 };
	struct worker w[MAX_WORKERS];
	int nw = l->workers ? (int)l->workers : 1, started = 0, rc = 1;
	uint64_t seen = 0;
	char err[512];
	memset(w, 0, sizeof(w));
	struct capture_live_opts co = {
		.netns = l->netns,
		.ifname = l->iface,
		/* Reassembly needs whole frames (raw packets are still cut to
		 * the header size by the flow table). */
		.snaplen = o->ip_defrag || o->reassemble_tcp ? 65535
			   : o->header_size                  ? o->header_size
							     : 256,
		.fanout_group = nw > 1 ? (int)(getpid() & 0xffff) : 0,
		.bpf = l->bpf,
	};
	int afpacket = !strcmp(l->type, "afpacket");
	for (int i = 0; i < nw; i++) {
		w[i].cap = afpacket ? capture_open_afpacket(&co, err, sizeof(err))
				    : capture_open_pcap(&co, err, sizeof(err));
		if (!w[i].cap) {
			fprintf(stderr, "skydive flows: %s\n", err);
			goto out;
		}
		w[i].r = r;
		w[i].seen = &seen;
		w[i].max_packets = l->count;
		w[i].deadline_ns = l->duration_s ? time_now_ns() + (uint64_t)l->duration_s * 1000000000ull : 0;
		w[i].table = flow_table_new(o, on_emit, on_raw, r, err, sizeof(err));
		if (!w[i].table) {
			fprintf(stderr, "skydive flows: %s\n", err);
			goto out;
		}
	}
	r->linktype = capture_linktype(w[0].cap);
	if (l->want_pcap && !(r->pcap = pcap_out_open_ts(out, r->linktype, capture_tstamp_nano(w[0].cap),
							  err, sizeof(err)))) {
		fprintf(stderr, "skydive flows: %s\n", err);
		goto out;
	}
	if (r->json)
		buf_putc(&r->out, '[');
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop_requested = 0;
	fprintf(stderr, "skydive flows: capturing on %s%s%s (%s, %d worker%s)\n", l->iface,
		l->netns ? " in namespace " : "", l->netns ? l->netns : "", l->type, nw,
		nw > 1 ? "s" : "");
	for (started = 0; started < nw; started++)
		if (pthread_create(&w[started].th, NULL, worker_main, &w[started])) {
			fprintf(stderr, "skydive flows: cannot start worker: %s\n", strerror(errno));
			stop_requested = 1;
			break;
		}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	struct flow_stats sum;
	struct capture_stats cs_sum;
	memset(&sum, 0, sizeof(sum));
	memset(&cs_sum, 0, sizeof(cs_sum));
	int cap_err = 0;
	for (int i = 0; i < nw; i++) {
		struct capture_stats cs;
		flow_table_flush(w[i].table); /* a worker that did not start */
		add_stats(&sum, flow_table_stats(w[i].table));
		capture_stats(w[i].cap, &cs);
		cs_sum.received += cs.received;
		cs_sum.dropped_kernel += cs.dropped_kernel;
		cs_sum.dropped_ifdrop += cs.dropped_ifdrop;
		if (w[i].err) {
			fprintf(stderr, "skydive flows: %s\n", capture_error(w[i].cap));
			cap_err = 1;
		}
	}
	if (r->json)
		buf_puts(&r->out, r->emitted ? "\n]\n" : "]\n");
	int werr = buf_flush(&r->out);
	if (r->pcap && pcap_out_close(r->pcap))
		werr = -EIO;
	r->pcap = NULL;
	if (fflush(out) || ferror(out))
		werr = -EIO;
	if (l->stats) {
		print_stats(&sum);
		fprintf(stderr, "capture: received %llu, dropped by the kernel %llu, by the interface %llu\n",
			(unsigned long long)cs_sum.received, (unsigned long long)cs_sum.dropped_kernel,
			(unsigned long long)cs_sum.dropped_ifdrop);
	}
	if (sum.flow_dropped)
		fprintf(stderr, "skydive flows: warning: %llu new flows dropped: table full; raise --max-flows\n",
			(unsigned long long)sum.flow_dropped);
	if (werr)
		fprintf(stderr, "skydive flows: writing the output failed: %s\n", strerror(-werr));
	rc = cap_err || werr ? 1 : 0;
out:
	for (int i = 0; i < nw; i++) {
		flow_table_free(w[i].table);
		capture_close(w[i].cap);
	}
	if (r->pcap)
		pcap_out_close(r->pcap);
	return rc;
}

int cmd_flows(int argc, char **argv)
{
	enum { O_RAW = 256, O_HDR, O_KEY, O_FMT, O_TID, O_CID, O_TCPM, O_APP, O_MAX, O_EXP, O_UPD,
	       O_STATS, O_NOPROG, O_BUDGET, O_NETNS, O_TYPE, O_DUR, O_COUNT, O_WORKERS,
	       O_DEFRAG, O_REASM, O_XL };
	static const struct option longopts[] = {
		{"read", required_argument, 0, 'r'},
		{"interface", required_argument, 0, 'i'},
		{"netns", required_argument, 0, O_NETNS},
		{"type", required_argument, 0, O_TYPE},
		{"duration", required_argument, 0, O_DUR},
		{"count", required_argument, 0, O_COUNT},
		{"workers", required_argument, 0, O_WORKERS},
		{"bpf", required_argument, 0, 'f'},
		{"rawpacket-limit", required_argument, 0, O_RAW},
		{"header-size", required_argument, 0, O_HDR},
		{"rawpacket-budget", required_argument, 0, O_BUDGET},
		{"layer-key-mode", required_argument, 0, O_KEY},
		{"format", required_argument, 0, O_FMT},
		{"output", required_argument, 0, 'o'},
		{"node-tid", required_argument, 0, O_TID},
		{"capture-id", required_argument, 0, O_CID},
		{"extra-tcp-metric", no_argument, 0, O_TCPM},
		{"ip-defrag", no_argument, 0, O_DEFRAG},
		{"reassemble-tcp", no_argument, 0, O_REASM},
		{"extra-layer", required_argument, 0, O_XL},
		{"app-port", required_argument, 0, O_APP},
		{"max-flows", required_argument, 0, O_MAX},
		{"expire", required_argument, 0, O_EXP},
		{"update", required_argument, 0, O_UPD},
		{"stats", no_argument, 0, O_STATS},
		{"no-progress", no_argument, 0, O_NOPROG},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct flow_table_opts o = {.max_flows = 4000000};
	static struct appmap apps;
	const char *path = NULL, *bpf = NULL, *output = NULL, *format = "json";
	int stats = 0, progress = 1, c, rc = 1;
	struct live_opts live = {.type = "afpacket"};
	int64_t v;
	char err[512];

	if (env_u32("SKYDIVE_FLOW_EXPIRE", 1, 86400 * 365, &o.expire_s) ||
	    env_u32("SKYDIVE_FLOW_UPDATE", 1, 86400 * 365, &o.update_s) ||
	    env_u32("SKYDIVE_FLOW_MAX_ENTRIES", 1, 1 << 30, &o.max_flows) ||
	    env_u32("SKYDIVE_FLOW_APPLICATION_TIMEOUT_ARP", 1, 86400, &o.arp_timeout_s) ||
	    env_u32("SKYDIVE_FLOW_APPLICATION_TIMEOUT_DNS", 1, 86400, &o.dns_timeout_s))
		return 2;
	const char *km = getenv("SKYDIVE_FLOW_DEFAULT_LAYER_KEY_MODE");
	if (km && flow_key_mode_parse(km, &o.key_mode)) {
		fprintf(stderr, "skydive flows: SKYDIVE_FLOW_DEFAULT_LAYER_KEY_MODE='%s' must be L2 or L3\n",
			km);
		return 2;
	}

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:i:f:o:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			live.iface = optarg;
			break;
		case O_NETNS:
			live.netns = optarg;
			break;
		case O_TYPE:
			if (strcmp(optarg, "afpacket") && strcmp(optarg, "pcap")) {
				fprintf(stderr, "skydive flows: --type '%s': expected afpacket or pcap\n",
					optarg);
				return 2;
			}
			live.type = optarg;
			break;
		case O_DUR:
			if (opt_int("duration", optarg, 1, 86400 * 365, &live.duration_s))
				return 2;
			break;
		case 'c':
		case O_COUNT:
			if (opt_int("count", optarg, 1, INT64_MAX, &live.count))
				return 2;
			break;
		case O_WORKERS:
			if (opt_int("workers", optarg, 1, 64, &live.workers))
				return 2;
			break;
		case 'r':
			path = optarg;
			break;
		case 'f':
			bpf = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case O_RAW:
			if (opt_int("rawpacket-limit", optarg, -1, INT32_MAX, &v))
				return 2;
			o.raw_packet_limit = v;
			break;
		case O_BUDGET:
			if (opt_int("rawpacket-budget", optarg, 0, INT64_MAX, &v))
				return 2;
			o.raw_budget = (uint64_t)v;
			break;
		case O_HDR:
			if (opt_int("header-size", optarg, 0, 65535, &v))
				return 2;
			if (v && v < 14) {
				fprintf(stderr, "skydive flows: --header-size %lld: use 0 (default 256) or "
						"14..65535\n",
					(long long)v);
				return 2;
			}
			o.header_size = (uint32_t)v;
			break;
		case O_KEY:
			if (flow_key_mode_parse(optarg, &o.key_mode)) {
				fprintf(stderr, "skydive flows: --layer-key-mode '%s': expected L2 or L3\n",
					optarg);
				return 2;
			}
			break;
		case O_FMT:
			if (strcmp(optarg, "json") && strcmp(optarg, "pcap")) {
				fprintf(stderr, "skydive flows: --format '%s': expected json or pcap\n",
					optarg);
				return 2;
			}
			format = optarg;
			break;
		case O_TID:
			o.node_tid = optarg;
			break;
		case O_CID:
			o.capture_id = optarg;
			break;
		case O_TCPM:
			o.extra_tcp_metric = 1;
			break;
		case O_DEFRAG:
			o.ip_defrag = 1;
			break;
		case O_REASM:
			o.reassemble_tcp = 1;
			break;
		case O_XL: /* Skydive's words (flow/flow.go extraLayersMap) */
			if (!strcmp(optarg, "DNS"))
				o.extra_layers |= XL_DNS;
			else if (!strcmp(optarg, "DHCPv4"))
				o.extra_layers |= XL_DHCPV4;
			else if (!strcmp(optarg, "VRRP"))
				o.extra_layers |= XL_VRRP;
			else {
				fprintf(stderr,
					"skydive flows: --extra-layer '%s' is not supported: use DNS, "
					"DHCPv4 or VRRP\n",
					optarg);
				return 2;
			}
			break;
		case O_APP:
			if (appmap_add_spec(&apps, optarg, err, sizeof(err))) {
				fprintf(stderr, "skydive flows: --app-port: %s\n", err);
				return 2;
			}
			o.appmap = &apps;
			break;
		case O_MAX:
			if (opt_int("max-flows", optarg, 1, 1 << 30, &v))
				return 2;
			o.max_flows = (uint32_t)v;
			break;
		case O_EXP:
			if (opt_int("expire", optarg, 1, 86400 * 365, &v))
				return 2;
			o.expire_s = (uint32_t)v;
			break;
		case O_UPD:
			if (opt_int("update", optarg, 1, 86400 * 365, &v))
				return 2;
			o.update_s = (uint32_t)v;
			break;
		case O_STATS:
			stats = 1;
			break;
		case O_NOPROG:
			progress = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Run 'skydive flows --help' for the options.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skydive flows: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!path == !live.iface) {
		fprintf(stderr, "skydive flows: give either --read FILE ('-' reads standard input) or "
				"--interface IF\nRun 'skydive flows --help' for the options.\n");
		return 2;
	}
	if (live.workers > 1 && strcmp(live.type, "afpacket")) {
		fprintf(stderr, "skydive flows: --workers needs --type afpacket (PACKET_FANOUT)\n");
		return 2;
	}
	if (path && (live.netns || live.duration_s || live.count || live.workers)) {
		fprintf(stderr, "skydive flows: --netns, --duration, --count and --workers go with "
				"--interface, not --read\n");
		return 2;
	}
	int want_pcap = !strcmp(format, "pcap");
	if (want_pcap && !o.raw_packet_limit) {
		fprintf(stderr, "skydive flows: --format pcap writes the raw packets the flows keep: "
				"set --rawpacket-limit (N, or -1 for every packet)\n");
		return 2;
	}

	struct run r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	if (live.iface) {
		FILE *lout = stdout;
		if (output && !(lout = fopen(output, "w"))) {
			fprintf(stderr, "skydive flows: cannot write %s: %s\n", output, strerror(errno));
			return 1;
		}
		live.bpf = bpf;
		live.want_pcap = want_pcap;
		live.stats = stats;
		r.json = !want_pcap;
		buf_init(&r.out, lout);
		rc = run_live(&r, &o, &live, lout);
		buf_free(&r.out);
		if (lout != stdout)
			fclose(lout);
		return rc;
	}
	struct capture *cap = capture_open_file(path, err, sizeof(err));
	if (!cap) {
		fprintf(stderr, "skydive flows: %s\n", err);
		return 1;
	}
	/* A file of a link type we do not decode would give "[]" and exit 0, as if it
	 * held no traffic: say so instead (issue 9). */
	if (!decode_linktype_supported(capture_linktype(cap), err, sizeof(err))) {
		fprintf(stderr, "skydive flows: %s: %s\n", path, err);
		capture_close(cap);
		return 1;
	}
	if (bpf && *bpf && capture_set_filter(cap, bpf, err, sizeof(err))) {
		fprintf(stderr, "skydive flows: %s\n", err);
		capture_close(cap);
		return 2;
	}
	FILE *out = stdout;
	if (output && !(out = fopen(output, "w"))) {
		fprintf(stderr, "skydive flows: cannot write %s: %s\n", output, strerror(errno));
		capture_close(cap);
		return 1;
	}
	r.linktype = capture_linktype(cap);
	r.json = !want_pcap;
	r.progress = progress && isatty(2);
	buf_init(&r.out, out);
	/* The source's resolution: a microsecond file gives a microsecond pcap,
	 * nanosecond times stay nanoseconds. */
	if (want_pcap && !(r.pcap = pcap_out_open_ts(out, r.linktype, capture_tstamp_nano(cap), err,
						     sizeof(err)))) {
		fprintf(stderr, "skydive flows: %s\n", err);
		goto out;
	}
	r.table = flow_table_new(&o, on_emit, on_raw, &r, err, sizeof(err));
	if (!r.table) {
		fprintf(stderr, "skydive flows: %s\n", err);
		goto out;
	}
	if (r.json)
		buf_putc(&r.out, '[');

	/* Flows read before an error are still printed (the loop flushes the
	 * table), then the error. */
	struct flow_loop_opts lo = {.after_batch = file_after_batch, .user = &r};
	int read_err = flow_loop_run(cap, r.table, &lo) != 0;
	if (r.json)
		buf_puts(&r.out, r.emitted ? "\n]\n" : "]\n");
	if (r.progress)
		show_progress(&r, 1);
	int werr = buf_flush(&r.out);
	if (r.pcap && pcap_out_close(r.pcap))
		werr = -EIO;
	r.pcap = NULL;
	if (fflush(out) || ferror(out))
		werr = -EIO;

	const struct flow_stats *st = flow_table_stats(r.table);
	if (stats)
		print_stats(st);
	if (st->flow_dropped)
		fprintf(stderr,
			"skydive flows: warning: %llu new flows dropped because %u flows were already "
			"tracked; raise --max-flows\n",
			(unsigned long long)st->flow_dropped, o.max_flows);
	if (read_err) {
		fprintf(stderr, "skydive flows: %s: %s\n", strcmp(path, "-") ? path : "standard input",
			capture_error(cap));
		goto out;
	}
	if (werr) {
		fprintf(stderr, "skydive flows: writing %s failed: %s\n", output ? output : "output",
			strerror(-werr));
		goto out;
	}
	rc = 0;
out:
	if (r.pcap)
		pcap_out_close(r.pcap);
	flow_table_free(r.table);
	buf_free(&r.out);
	capture_close(cap);
	if (out != stdout)
		fclose(out);
	return rc;
}
