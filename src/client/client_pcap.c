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
#include "config/config.h"

static const struct option opts[] = {
    {"analyzer", required_argument, NULL, 'A'}, {"username", required_argument, NULL, 'U'},
    {"password", required_argument, NULL, 'P'}, {"cacert", required_argument, NULL, 'C'},
    {"cert", required_argument, NULL, 'E'},     {"key", required_argument, NULL, 'K'},
    {"insecure", no_argument, NULL, 'I'},       {"conf", required_argument, NULL, 'c'},
    {"trace", required_argument, NULL, 't'},    {"rawpacket-limit", required_argument, NULL, 'r'},
    {"node-tid", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int client_pcap_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			return !strcmp(a, "pcap");
		if (!strcmp(a, "--"))
			return i + 1 < argc && !strcmp(argv[i + 1], "pcap");
		if (strchr(a, '='))
			continue;
		/* options taking a separate value */
		for (const struct option *o = opts; o->name; o++)
			if (o->has_arg == required_argument &&
			    ((a[1] == '-' && !strcmp(a + 2, o->name)) ||
			     (a[1] == o->val && !a[2]))) {
				i++;
				break;
			}
	}
	return 0;
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

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct client_response *r = user;
	size_t n = size * nmemb;
	char *nb = realloc(r->body, r->len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, data, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

int client_pcap_main(int argc, char **argv)
{
	struct client_opts o = {0};
	const char *trace = NULL, *limit = NULL, *tid = NULL, *analyzer = NULL;
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	struct config *cfg = NULL;
	json_t *analyzers = NULL;
	FILE *fp = NULL;
	CURL *c = NULL;
	struct curl_slist *h = NULL;
	struct client_response resp = {0};
	int rc = 2, ch;
	char err[1024];
	if (!files)
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'A': analyzer = optarg; break;
		case 'U': o.username = optarg; break;
		case 'P': o.password = optarg; break;
		case 'C': o.cacert = optarg; break;
		case 'E': o.cert = optarg; break;
		case 'K': o.key = optarg; break;
		case 'I': o.insecure = 1; break;
		case 'c': files[nfiles++] = optarg; break;
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
	cfg = config_load(files, nfiles, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "skydive client pcap: %s\n", err);
		goto out;
	}
	if (!analyzer)
		analyzer = getenv("SKYDIVE_ANALYZER");
	if (!analyzer || !*analyzer) {
		analyzers = config_get_list(cfg, "analyzers", "127.0.0.1:8082");
		analyzer = json_string_value(json_array_get(analyzers, 0));
	}
	o.analyzer = analyzer && *analyzer ? analyzer : "127.0.0.1:8082";
	if (!o.username)
		o.username = getenv("SKYDIVE_USERNAME");
	if (!o.password)
		o.password = getenv("SKYDIVE_PASSWORD");
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
	int tls = o.insecure || (o.cacert && *o.cacert) || (o.cert && *o.cert);
	char url[1200], cerr[CURL_ERROR_SIZE] = "", hdr[200];
	snprintf(url, sizeof(url), "%s://%s/api/pcap%s%s", tls ? "https" : "http", o.analyzer,
		 limit ? "?rawpacketlimit=" : "", limit ? limit : "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READDATA, fp);
	if (size >= 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, size);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
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
	if (o.username && *o.username) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, o.username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, o.password ? o.password : "");
	}
	if (o.cacert && *o.cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, o.cacert);
	if (o.cert && *o.cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, o.cert);
	if (o.key && *o.key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, o.key);
	if (o.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr,
			"skydive client pcap: cannot send %s to the analyzer at %s: %s (is it "
			"running? set --analyzer or SKYDIVE_ANALYZER)\n",
			trace, o.analyzer, cerr[0] ? cerr : curl_easy_strerror(cc));
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
	json_decref(analyzers);
	config_free(cfg);
	free(files);
	return rc;
}
