/* client_pcap.c - `skydive client pcap`: streams a pcap/pcapng file to POST /api/pcap. */
#include "client/client_pcap.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client/client.h"
#include "client/client_args.h"

static const struct option opts[] = {
    CLIENT_ARGS_LONGOPTS,
    {"trace", required_argument, NULL, 't'},    {"rawpacket-limit", required_argument, NULL, 'r'},
    {"node-tid", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int client_pcap_wanted(int argc, char **argv)
{
	const char *w = client_command_word(argc, argv);
	return w && !strcmp(w, "pcap");
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: skydive client pcap --trace FILE [--rawpacket-limit N] [--node-tid TID]\n\n"
		"Sends a pcap or pcapng file to the analyzer (POST /api/pcap), which turns it into\n"
		"flows and keeps them in its flow store (G.Flows()); prints {\"Packets\",\"Flows\"}.\n\n"
		"  -t, --trace FILE          capture file to send ('-' for standard input)\n"
		"      --rawpacket-limit N   raw packets the analyzer keeps per flow: 0 none\n"
		"                            (default), N the first N, -1 every packet\n"
		"      --node-tid TID        NodeTID given to the flows (default none)\n"
		"      --analyzer HOST:PORT  analyzer (default $SKYDIVE_ANALYZER, else the first of\n"
		"                            'analyzers', else 127.0.0.1:8082)\n"
		"      --username/--password/--cacert/--cert/--key/--insecure, -c FILE: as for\n"
		"                            every client command\n");
}

int client_pcap_main(int argc, char **argv)
{
	struct client_args ca;
	const struct client_opts *o = &ca.o;
	const char *trace = NULL, *limit = NULL, *tid = NULL;
	FILE *fp = NULL;
	CURL *c = NULL;
	struct curl_slist *h = NULL;
	struct client_response resp = {0};
	int rc = 2, ch;
	char err[1024];
	if (client_args_init(&ca, argc))
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:t:h", opts, NULL)) != -1) {
		if (client_args_take(&ca, ch, optarg))
			continue;
		switch (ch) {
		case 't': trace = optarg; break;
		case 'r': limit = optarg; break;
		case 'n': tid = optarg; break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			fprintf(stderr, "Run 'skydive client pcap --help' for the options.\n");
			goto out;
		}
	}
	if (!trace) {
		fprintf(stderr, "skydive client pcap: give the capture file with --trace FILE\n");
		usage(stderr);
		goto out;
	}
	if (limit) {
		char *end;
		long v = strtol(limit, &end, 10);
		if (*end || v < -1) {
			fprintf(stderr, "skydive client pcap: --rawpacket-limit '%s': expected -1, 0 "
					"or a count\n", limit);
			goto out;
		}
	}
	rc = 1;
	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client pcap: %s\n", err);
		goto out;
	}
	fp = strcmp(trace, "-") ? fopen(trace, "rb") : stdin;
	if (!fp) {
		fprintf(stderr, "skydive client pcap: cannot read %s: %s\n", trace, strerror(errno));
		goto out;
	}
	struct stat sb;
	curl_off_t size = -1;
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode))
		size = (curl_off_t)sb.st_size;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	if (!c) {
		fprintf(stderr, "skydive client pcap: cannot initialise libcurl\n");
		goto out;
	}
	int tls = o->insecure || (o->cacert && *o->cacert) || (o->cert && *o->cert);
	char url[1200], cerr[CURL_ERROR_SIZE] = "", hdr[200];
	snprintf(url, sizeof(url), "%s://%s/api/pcap%s%s", tls ? "https" : "http", o->analyzer,
		 limit ? "?rawpacketlimit=" : "", limit ? limit : "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READDATA, fp);
	if (size >= 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, size);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_curl_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "skydive-client");
	h = curl_slist_append(h, "Content-Type: application/vnd.tcpdump.pcap");
	h = curl_slist_append(h, "Expect:");
	if (tid) {
		snprintf(hdr, sizeof(hdr), "X-Node-TID: %s", tid);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	client_curl_auth(c, o);
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr,
			"skydive client pcap: cannot send %s to the analyzer at %s: %s (is it "
			"running? set --analyzer or SKYDIVE_ANALYZER)\n",
			trace, o->analyzer, cerr[0] ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
	if (resp.status / 100 == 2) {
		char *pretty =
		    resp.body ? client_json_pretty(resp.body, resp.len, 1, err, sizeof(err)) : NULL;
		fputs(pretty ? pretty : resp.body ? resp.body : "{}\n", stdout);
		free(pretty);
		rc = 0;
	} else {
		json_t *j = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
		const char *m = json_string_value(json_object_get(j, "Error"));
		fprintf(stderr, "skydive client pcap: the analyzer answered %ld: %s\n", resp.status,
			m ? m : resp.body ? resp.body : "");
		if (j && json_object_get(j, "Flows"))
			fprintf(stderr, "skydive client pcap: %lld packets read, %lld flows stored "
					"before the error\n",
				(long long)json_integer_value(json_object_get(j, "Packets")),
				(long long)json_integer_value(json_object_get(j, "Flows")));
		json_decref(j);
	}
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (c)
		curl_global_cleanup();
	free(resp.body);
	if (fp && fp != stdin)
		fclose(fp);
	client_args_free(&ca);
	return rc;
}
