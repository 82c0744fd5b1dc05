/* test_capture_res.c - unit tests of the Capture resource (src/analyzer/capture_res.c):
 * every validation rule both ways, JSON round trip, REST answers, TTL, listeners,
 * and the captures file (save, load, corrupt file kept aside). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/capture_res.h"
#include "config/config.h"

/* ---- validation table ----------------------------------------------------- */

static const struct {
	const char *json;
	const char *err; /* NULL: accepted; else a substring of the message */
	int pos;         /* expected Position, -1 none */
} cases[] = {
    {"{\"GremlinQuery\":\"G.V()\"}", NULL, -1},
    {"{}", "GremlinQuery is required", -1},
    {"{\"GremlinQuery\":\"  \"}", "GremlinQuery is required", -1},
    {"{\"GremlinQuery\":\"G.V().Has(\"}", "invalid GremlinQuery", 10},
    {"{\"GremlinQuery\":3}", "GremlinQuery must be a string", -1},
    {"{\"gremlinquery\":\"G.V()\"}", NULL, -1}, /* Go matches field names without case */
    {"{\"GremlinQuery\":\"G.V()\",\"Bogus\":1}", "unknown Capture field 'Bogus'", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"UUID\":\"x\",\"Count\":3}", NULL, -1},
    {"[1]", "must be a JSON object", -1},
    /* BPF */
    {"{\"GremlinQuery\":\"G.V()\",\"BPFFilter\":\"tcp port 80\"}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"BPFFilter\":\"tcp port\"}", "BPFFilter", -1},
    /* Type */
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"afpacket\"}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"dpdk\"}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovsnetflow\"}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovsnetflow\",\"SamplingRate\":1,"
     "\"PollingInterval\":10,\"Target\":\"127.0.0.1:2055\"}",
     NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovsnetflow\",\"BPFFilter\":\"icmp\"}",
     "capture type ovsnetflow takes no BPFFilter", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovsnetflow\",\"SamplingRate\":2}",
     "capture type ovsnetflow takes no SamplingRate", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovsnetflow\",\"Target\":\"127.0.0.1:2055\","
     "\"TargetType\":\"netflowv5\"}",
     "capture type ovsnetflow takes no TargetType", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"pcapx\"}",
     "unknown capture type 'pcapx': expected one of afpacket, pcap", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"pcap,\"}", "unknown capture type", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ebpf\",\"BPFFilter\":\"icmp\"}",
     "capture type ebpf does not take a BPFFilter", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Type\":\"ebpf\"}", NULL, -1},
    /* HeaderSize */
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":0}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":14}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":65535}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":13}", "HeaderSize 13 is out of range", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":65536}", "HeaderSize 65536", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":-1}", "HeaderSize -1", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":\"100\"}", "HeaderSize must be an integer", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"HeaderSize\":1.5}", "HeaderSize must be an integer", -1},
    /* RawPacketLimit */
    {"{\"GremlinQuery\":\"G.V()\",\"RawPacketLimit\":-1}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"RawPacketLimit\":1000000}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"RawPacketLimit\":-2}", "RawPacketLimit -2", -1},
    /* LayerKeyMode */
    {"{\"GremlinQuery\":\"G.V()\",\"LayerKeyMode\":\"L2\"}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"LayerKeyMode\":\"L3\"}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"LayerKeyMode\":\"L4\"}", "LayerKeyMode 'L4'", -1},
    /* SamplingRate, PollingInterval */
    {"{\"GremlinQuery\":\"G.V()\",\"SamplingRate\":0,\"PollingInterval\":0}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"SamplingRate\":4294967295}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"SamplingRate\":-1}", "SamplingRate -1", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"PollingInterval\":-5}", "PollingInterval -5", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"SamplingRate\":4294967296}", "SamplingRate", -1},
    /* Port */
    {"{\"GremlinQuery\":\"G.V()\",\"Port\":6343}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Port\":65536}", "Port 65536", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Port\":-1}", "Port -1", -1},
    /* TargetType, Target */
    {"{\"GremlinQuery\":\"G.V()\",\"TargetType\":\"netflowv5\",\"Target\":\"10.0.0.1:2055\"}", NULL,
     -1},
    {"{\"GremlinQuery\":\"G.V()\",\"TargetType\":\"erspanv1\",\"Target\":\"10.0.0.1:1\"}", NULL,
     -1},
    {"{\"GremlinQuery\":\"G.V()\",\"TargetType\":\"erspanv1\"}", "needs a Target", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"TargetType\":\"ipfix\"}", "TargetType 'ipfix'", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"Target\":\"nohost\"}", "Target 'nohost'", -1},
    /* ExtraLayers */
    {"{\"GremlinQuery\":\"G.V()\",\"ExtraLayers\":255}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"ExtraLayers\":[\"DNS\",\"VRRP\"]}", NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"ExtraLayers\":256}", "ExtraLayers 256", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"ExtraLayers\":-1}", "ExtraLayers -1", -1},
    {"{\"GremlinQuery\":\"G.V()\",\"ExtraLayers\":[\"SMTP\"]}", "ExtraLayers item #0", -1},
    /* booleans */
    {"{\"GremlinQuery\":\"G.V()\",\"ExtraTCPMetric\":true,\"IPDefrag\":true,"
     "\"ReassembleTCP\":false}",
     NULL, -1},
    {"{\"GremlinQuery\":\"G.V()\",\"IPDefrag\":1}", "IPDefrag must be true or false", -1},
};

static void test_validation_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t je;
		json_t *j = json_loads(cases[i].json, 0, &je);
		assert_non_null(j);
		struct capture_def c;
		struct capture_res_error e;
		int rc = capture_def_from_json(j, &c, &e);
		json_decref(j);
		if (!cases[i].err) {
			if (rc)
				fail_msg("case %zu %s refused: %s", i, cases[i].json, e.msg);
		} else {
			if (rc != -EINVAL)
				fail_msg("case %zu %s accepted", i, cases[i].json);
			if (!strstr(e.msg, cases[i].err))
				fail_msg("case %zu: '%s' does not contain '%s'", i, e.msg,
				         cases[i].err);
			assert_int_equal(e.pos, cases[i].pos);
		}
		capture_def_clear(&c);
	}
}

static void test_json_round_trip(void **state)
{
	const char *text =
	    "{\"GremlinQuery\":\"G.V().Has('Name','eth0')\",\"BPFFilter\":\"icmp\",\"Name\":\"n\","
	    "\"Description\":\"d\",\"Type\":\"pcap\",\"Port\":6343,\"SamplingRate\":2,"
	    "\"PollingInterval\":3,\"RawPacketLimit\":-1,\"HeaderSize\":128,\"ExtraTCPMetric\":"
	    "true,"
	    "\"IPDefrag\":true,\"ReassembleTCP\":true,\"LayerKeyMode\":\"L3\",\"ExtraLayers\":6,"
	    "\"Target\":\"1.2.3.4:9\",\"TargetType\":\"netflowv5\"}";
	json_t *in = json_loads(text, 0, NULL);
	struct capture_def c, c2;
	struct capture_res_error e;
	assert_int_equal(capture_def_from_json(in, &c, &e), 0);
	strcpy(c.uuid, "11111111-2222-4333-8444-555555555555");
	json_t *out = capture_def_to_json(&c, 0);
	/* every input field comes back, plus UUID and Count, in Skydive's order */
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v) assert_true(json_equal(v, json_object_get(out, key)));
	assert_int_equal(json_object_size(out), json_object_size(in) + 2);
	char *s = json_dumps(out, JSON_COMPACT);
	assert_non_null(strstr(s, "{\"UUID\":\"11111111-2222-4333-8444-555555555555\","
	                          "\"GremlinQuery\""));
	assert_non_null(strstr(s, "\"Type\":\"pcap\",\"Count\":0,\"Port\":6343"));
	free(s);
	assert_int_equal(capture_def_from_json(out, &c2, &e), 0);
	json_t *out2 = capture_def_to_json(&c2, 0);
	json_object_set_new(out2, "UUID", json_string(c.uuid));
	assert_true(json_equal(out, out2));
	json_decref(out2);
	json_decref(out);
	json_decref(in);
	capture_def_clear(&c2);

	/* omitempty: a minimal capture has only the fields without it */
	json_t *min = json_loads("{\"GremlinQuery\":\"G.V()\"}", 0, NULL);
	capture_def_clear(&c);
	assert_int_equal(capture_def_from_json(min, &c, &e), 0);
	out = capture_def_to_json(&c, 7);
	s = json_dumps(out, JSON_COMPACT);
	assert_string_equal(s, "{\"UUID\":\"\",\"GremlinQuery\":\"G.V()\",\"Count\":7,"
	                       "\"SamplingRate\":0,\"PollingInterval\":0,\"ExtraTCPMetric\":false,"
	                       "\"IPDefrag\":false,\"ReassembleTCP\":false}");
	free(s);
	json_decref(out);
	json_decref(min);
	capture_def_clear(&c);
}

static void test_duration(void **state)
{
	int64_t ms = -1;
	assert_int_equal(capture_res_parse_duration("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(capture_res_parse_duration("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(capture_res_parse_duration("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(capture_res_parse_duration("1.5h", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(capture_res_parse_duration("1m0s", &ms), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(capture_res_parse_duration("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(capture_res_parse_duration("1500", &ms), 0); /* Skydive's --ttl ms */
	assert_int_equal(ms, 1500);
	assert_int_equal(capture_res_parse_duration("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(capture_res_parse_duration("", &ms), -EINVAL);
	assert_int_equal(capture_res_parse_duration("5", &ms), 0);
	assert_int_equal(capture_res_parse_duration("5x", &ms), -EINVAL);
	assert_int_equal(capture_res_parse_duration("-5s", &ms), -EINVAL);
	assert_int_equal(capture_res_parse_duration("s", &ms), -EINVAL);
	assert_int_equal(capture_res_parse_duration("1h2", &ms), -EINVAL);
}

/* ---- node types --------------------------------------------------------------- */

static struct graph *small_graph(void)
{
	struct graph *g = graph_new(&(struct graph_opts){0});
	graph_lock(g);
	graph_node_add(g, "v1", json_pack("{s:s, s:s}", "Name", "eth0", "Type", "veth"), "h", "o",
	               1);
	graph_node_add(g, "p1", json_pack("{s:s, s:s}", "Name", "port1", "Type", "ovsport"), "h",
	               "o", 1);
	graph_node_add(g, "n1", json_pack("{s:s, s:s}", "Name", "ns1", "Type", "netns"), "h", "o",
	               1);
	graph_unlock(g);
	return g;
}

static int check(struct graph *g, const char *json, struct capture_res_error *e)
{
	json_t *j = json_loads(json, 0, NULL);
	struct capture_def c;
	int rc = capture_def_from_json(j, &c, e);
	json_decref(j);
	if (!rc)
		rc = capture_def_check_graph(&c, g, e);
	capture_def_clear(&c);
	return rc;
}

static void test_node_types(void **state)
{
	struct graph *g = small_graph();
	struct capture_res_error e;
	assert_string_equal(capture_types_for_node("veth"),
	                    "afpacket, pcap, pcapsocket, sflow, ebpf");
	assert_string_equal(capture_types_for_node("ovsport"), "ovsmirror");
	assert_null(capture_types_for_node("host"));
	assert_int_equal(
	    check(g, "{\"GremlinQuery\":\"G.V().Has('Type','veth')\",\"Type\":\"ovsmirror\"}", &e),
	    -EINVAL);
	assert_string_equal(e.msg, "capture type ovsmirror not allowed on node type veth (allowed: "
	                           "afpacket, pcap, pcapsocket, sflow, ebpf)");
	assert_int_equal(
	    check(g, "{\"GremlinQuery\":\"G.V().Has('Type','veth')\",\"Type\":\"pcap\"}", &e), 0);
	assert_int_equal(check(g, "{\"GremlinQuery\":\"G.V().Has('Type','veth')\"}", &e), 0);
	/* allowed on one of the matched node types: accepted */
	assert_int_equal(check(g, "{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovsmirror\"}", &e), 0);
	/* nothing matches yet: accepted (future nodes) */
	assert_int_equal(
	    check(g, "{\"GremlinQuery\":\"G.V().Has('Name','zz')\",\"Type\":\"dpdk\"}", &e), 0);
	assert_int_equal(
	    check(g, "{\"GremlinQuery\":\"G.V().Has('Type','netns')\",\"Type\":\"pcap\"}", &e),
	    -EINVAL);
	assert_non_null(strstr(e.msg, "node type netns (not capturable)"));
	assert_int_equal(check(g, "{\"GremlinQuery\":\"G.V().Values('Name')\"}", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "must return nodes"));
	graph_free(g);
}

/* ---- the registry and REST ------------------------------------------------------- */

static char tmpdir[256];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_capture_res.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

static int call(struct capture_res *r, const char *method, const char *path, const char *ct,
                const char *ttl, const char *body, int64_t now, json_t **out)
{
	struct rest_response resp;
	struct capture_res_request req = {.method = method,
	                                  .path = path,
	                                  .content_type = ct,
	                                  .ttl = ttl,
	                                  .body = body,
	                                  .body_len = body ? strlen(body) : 0,
	                                  .now_ms = now};
	capture_res_handle(r, &req, &resp);
	if (out)
		*out = resp.len ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
	free(resp.body);
	return resp.status;
}

static int events[3];
static void on_event(void *user, enum capture_res_event ev, const struct capture_def *c)
{
	events[ev]++;
	assert_int_equal(strlen(c->uuid), 36);
}

static void test_rest(void **state)
{
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/rest/sub", tmpdir); /* created on the first write */
	struct graph *g = small_graph();
	struct capture_res *r = capture_res_new(dir, g);
	int lid = capture_res_listen(r, on_event, NULL);
	assert_true(lid >= 0);
	json_t *j;
	int64_t now = 1700000000000;
	assert_int_equal(call(r, "GET", "/api/capture", NULL, NULL, NULL, now, &j), 200);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);

	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, NULL,
	         "{\"GremlinQuery\":\"G.V().Has('Type','veth')\",\"BPFFilter\":\"icmp\"}", now, &j),
	    201);
	char id[40];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "UUID")));
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4'); /* version 4 */
	assert_int_equal(json_integer_value(json_object_get(j, "Count")), 0);
	json_decref(j);
	assert_int_equal(events[CAPTURE_RES_CREATED], 1);

	/* duplicate: same settings, another Name */
	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, NULL,
	         "{\"GremlinQuery\":\"G.V().Has('Type','veth')\",\"BPFFilter\":\"icmp\","
	         "\"Name\":\"other\"}",
	         now, &j),
	    409);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), id));
	json_decref(j);
	/* a Gremlin error names its position */
	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, NULL, "{\"GremlinQuery\":\"G.V(\"}", now, &j),
	    400);
	assert_int_equal(json_integer_value(json_object_get(j, "Position")), 4);
	json_decref(j);
	assert_int_equal(call(r, "POST", "/api/capture", NULL, NULL, "{\"GremlinQuery\":", now, &j),
	                 400);
	assert_non_null(
	    strstr(json_string_value(json_object_get(j, "Error")), "invalid JSON body"));
	json_decref(j);
	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, NULL,
	         "{\"GremlinQuery\":\"G.V().Has('Type','veth')\",\"Type\":\"ovsmirror\"}", now, &j),
	    400);
	json_decref(j);
	/* YAML, with a TTL */
	assert_int_equal(call(r, "POST", "/api/capture", "application/yaml", "2s",
	                      "GremlinQuery: G.V().Has('Name', 'eth0')\nHeaderSize: 100\n"
	                      "ExtraTCPMetric: true\n",
	                      now, &j),
	                 201);
	char id2[40];
	snprintf(id2, sizeof(id2), "%s", json_string_value(json_object_get(j, "UUID")));
	assert_int_equal(json_integer_value(json_object_get(j, "HeaderSize")), 100);
	assert_true(json_is_true(json_object_get(j, "ExtraTCPMetric")));
	json_decref(j);
	assert_int_equal(call(r, "POST", "/api/capture", "application/yaml", NULL,
	                      "GremlinQuery: [unclosed\n", now, &j),
	                 400);
	assert_non_null(
	    strstr(json_string_value(json_object_get(j, "Error")), "invalid YAML body at line"));
	json_decref(j);
	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, "soon", "{\"GremlinQuery\":\"G.V()\"}", now, &j),
	    400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "X-Resource-TTL"));
	json_decref(j);
	/* request bytes that are not UTF-8, quoted in the error, gave a 500 "out of memory"
	 * (jansson refuses the string): now a 400 with '?' (fuzz_capture_body,
	 * regress-ttl-not-utf8); also a character cut by %.64s */
	assert_int_equal(call(r, "POST", "/api/capture", NULL, "30000\xf8\xff\xff\xff",
	                      "{\"GremlinQuery\":\"G.V()\"}", now, &j),
	                 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "'30000?\?\?\?'"));
	json_decref(j);
	{
		char ttl[80];
		memset(ttl, 'x', 63);
		strcpy(ttl + 63, "\xc3\xa9");
		assert_int_equal(call(r, "POST", "/api/capture", NULL, ttl,
		                      "{\"GremlinQuery\":\"G.V()\"}", now, &j),
		                 400);
		assert_non_null(json_string_value(json_object_get(j, "Error")));
		json_decref(j);
	}
	{
		char t[] = "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad \xc0\xaf \xed\xa0\x80 \xe2\x82";
		rest_utf8_fix(t);
		assert_string_equal(t, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad ?? ??? ??");
	}
	/* a "billion laughs" body: 10^9 nodes named in a few hundred bytes (issue 9) */
	{
		char bomb[2048];
		size_t o = (size_t)snprintf(bomb, sizeof(bomb), "a: &a [x,x,x,x,x,x,x,x,x,x]\n");
		for (char n = 'b'; n <= 'i'; n++)
			o += (size_t)snprintf(bomb + o, sizeof(bomb) - o,
			                      "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", n, n,
			                      n - 1, n - 1, n - 1, n - 1, n - 1, n - 1, n - 1, n - 1,
			                      n - 1, n - 1);
		snprintf(bomb + o, sizeof(bomb) - o, "GremlinQuery: G.V()\n");
		assert_int_equal(call(r, "POST", "/api/capture", "application/yaml", NULL, bomb, now, &j),
		                 400);
		assert_non_null(strstr(json_string_value(json_object_get(j, "Error")),
		                       "YAML body expands beyond 100000 nodes (aliases)"));
		json_decref(j);
	}
	/* BPF filters whose compile time would block the loop: refused before libpcap */
	{
		char body[8192];
		size_t o = (size_t)snprintf(body, sizeof(body),
		                            "{\"GremlinQuery\":\"G.V()\",\"BPFFilter\":\"port 1");
		for (int i = 2; i <= 65; i++)
			o += (size_t)snprintf(body + o, sizeof(body) - o, " or port %d", i);
		snprintf(body + o, sizeof(body) - o, "\"}");
		assert_int_equal(call(r, "POST", "/api/capture", NULL, NULL, body, now, &j), 400);
		assert_non_null(strstr(json_string_value(json_object_get(j, "Error")),
		                       "BPF filter of 65 terms refused (at most 64"));
		json_decref(j);
	}

	assert_int_equal(capture_res_count(r), 2);
	char path[100];
	snprintf(path, sizeof(path), "/api/capture/%s", id);
	assert_int_equal(call(r, "GET", path, NULL, NULL, NULL, now, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "BPFFilter")), "icmp");
	json_decref(j);
	assert_int_equal(call(r, "GET", "/api/capture/nope", NULL, NULL, NULL, now, &j), 404);
	assert_string_equal(json_string_value(json_object_get(j, "Error")),
	                    "Capture 'nope' not found");
	json_decref(j);
	/* PATCH as Skydive's API server: each step's refusal a 400 in its words, and a
	 * capture is never updatable (api/server/capture.go) */
	static const char *const patches[][2] = {
	    {"{\"op\":\"add\"}", "incorrect JSON patch: a JSON Patch is an array of operations"},
	    {"[{\"op\":\"test\",\"path\":\"/BPFFilter\",\"value\":\"udp\"}]",
	     "applying JSON patch to resource: operation 0 (test): test of '/BPFFilter' failed: "
	     "the value differs"},
	    {"[{\"op\":\"replace\",\"path\":\"/BPFFilter\",\"value\":\"port eighty\"}]",
	     "validating patched resource: "},
	    {"[{\"op\":\"add\",\"path\":\"/Name\",\"value\":\"new\"}]",
	     "updating resource with patched version: resource not updatable"},
	    {"[]", "updating resource with patched version: resource not updatable"},
	};
	for (size_t k = 0; k < sizeof(patches) / sizeof(patches[0]); k++) {
		assert_int_equal(call(r, "PATCH", path, NULL, NULL, patches[k][0], now, &j), 400);
		const char *msg = json_string_value(json_object_get(j, "Error"));
		if (!msg || strncmp(msg, patches[k][1], strlen(patches[k][1])))
			fail_msg("PATCH %s: %s", patches[k][0], msg ? msg : "(no Error)");
		json_decref(j);
	}
	assert_int_equal(call(r, "PATCH", "/api/capture/nope", NULL, NULL, "[]", now, NULL), 404);
	assert_int_equal(call(r, "GET", path, NULL, NULL, NULL, now, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "BPFFilter")), "icmp"); /* as it was */
	json_decref(j);
	assert_int_equal(call(r, "PUT", "/api/capture", NULL, NULL, NULL, now, NULL), 405);

	/* the TTL ends: gone on the next request (or the analyzer's timer) */
	assert_int_equal(call(r, "GET", "/api/capture", NULL, NULL, NULL, now + 2001, &j), 200);
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	assert_int_equal(events[CAPTURE_RES_DELETED], 1);
	struct capture_def c;
	assert_int_equal(capture_res_get(r, id2, &c), -ENOENT);
	assert_int_equal(capture_res_get(r, id, &c), 0);
	assert_string_equal(c.bpf_filter, "icmp");
	capture_def_clear(&c);

	assert_int_equal(call(r, "DELETE", path, NULL, NULL, NULL, now, NULL), 200);
	assert_int_equal(call(r, "DELETE", path, NULL, NULL, NULL, now, NULL), 404);
	assert_int_equal(events[CAPTURE_RES_DELETED], 2);
	capture_res_unlisten(r, lid);
	capture_res_free(r);
	graph_free(g);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_persistence(void **state)
{
	char dir[300], file[400], bad[420];
	snprintf(dir, sizeof(dir), "%s/persist", tmpdir);
	snprintf(file, sizeof(file), "%s/%s", dir, CAPTURE_RES_FILE);
	snprintf(bad, sizeof(bad), "%s.corrupt", file);
	struct capture_res *r = capture_res_new(dir, NULL);
	json_t *j;
	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, NULL,
	         "{\"GremlinQuery\":\"G.V()\",\"Name\":\"keep\",\"RawPacketLimit\":-1}", 0, &j),
	    201);
	char id[40];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "UUID")));
	json_decref(j);
	assert_int_equal(call(r, "POST", "/api/capture", NULL, "1h",
	                      "{\"GremlinQuery\":\"G.V()\",\"Name\":\"ttl\",\"Type\":\"pcap\"}", 0,
	                      NULL),
	                 201);
	capture_res_free(r);

	/* a new registry (an analyzer restart) finds both, the TTL kept */
	r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_count(r), 2);
	struct capture_def c;
	assert_int_equal(capture_res_get(r, id, &c), 0);
	assert_string_equal(c.name, "keep");
	assert_int_equal(c.raw_packet_limit, -1);
	assert_int_equal(c.expires_ms, 0);
	capture_def_clear(&c);
	/* past the TTL, a restart drops it */
	assert_int_equal(capture_res_expire(r, rest_now_ms() + 3600 * 1000 + 1000), 1);
	capture_res_free(r);
	r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_count(r), 1);
	capture_res_free(r);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	char tmp[420];
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	assert_int_not_equal(stat(tmp, &st), 0); /* no temporary left */

	/* a corrupt file: empty registry, the file kept as .corrupt */
	write_file(file, "{\"Version\":1,\n \"Captures\": {\"x\": ");
	r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_count(r), 0);
	capture_res_free(r);
	assert_int_equal(stat(bad, &st), 0);
	assert_int_not_equal(stat(file, &st), 0);
	/* the wrong shape is corrupt too */
	write_file(file, "[1,2]");
	r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_count(r), 0);
	capture_res_free(r);
	assert_int_not_equal(stat(file, &st), 0);
	/* an invalid entry is dropped, the valid ones kept */
	write_file(
	    file,
	    "{\"Version\":1,\"Captures\":{"
	    "\"11111111-2222-4333-8444-555555555555\":{\"Capture\":{\"GremlinQuery\":\"G.V()\"}},"
	    "\"21111111-2222-4333-8444-555555555555\":{\"Capture\":{\"GremlinQuery\":\"G.V(\"}},"
	    "\"not-a-uuid\":{\"Capture\":{\"GremlinQuery\":\"G.V()\"}}}}");
	r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_count(r), 1);
	assert_int_equal(capture_res_get(r, "11111111-2222-4333-8444-555555555555", &c), 0);
	capture_def_clear(&c);
	capture_res_free(r);

	/* a data directory that cannot be created: 500 naming the file, nothing kept */
	char nodir[400];
	snprintf(nodir, sizeof(nodir), "%s/afile", tmpdir);
	write_file(nodir, "x");
	strcat(nodir, "/sub");
	r = capture_res_new(nodir, NULL);
	assert_int_equal(
	    call(r, "POST", "/api/capture", NULL, NULL, "{\"GremlinQuery\":\"G.V()\"}", 0, &j),
	    500);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "afile/sub"));
	json_decref(j);
	assert_int_equal(capture_res_count(r), 0);
	capture_res_free(r);
}

/* analyzer.startup: the capture is created once (a restart finds it in
 * captures.json), with Skydive's duplicate rule (same GremlinQuery, BPF and
 * Type, other settings aside); a query or filter POST refuses stops it. */
static int count_startup(void *user, const struct capture_def *c)
{
	if (!strcmp(c->gremlin_query, "G.V().Has('Name', 'eth0')") &&
	    !strcmp(c->bpf_filter, "port 80") && !strcmp(c->type, "pcap"))
		++*(int *)user;
	return 0;
}

static void test_startup_capture(void **state)
{
	char dir[300], err[512] = "";
	snprintf(dir, sizeof(dir), "%s/startup", tmpdir);
	struct config *cfg = config_new();
	assert_non_null(cfg);
	struct capture_res *r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_startup(r, cfg, err, sizeof(err)), 0); /* unset */
	assert_int_equal(capture_res_count(r), 0);
	assert_int_equal(config_set_string(cfg, "analyzer.startup.capture_gremlin",
					   "G.V().Has('Name', 'eth0')"), 0);
	assert_int_equal(config_set_string(cfg, "analyzer.startup.capture_bpf", "port 80"), 0);
	assert_int_equal(config_set_string(cfg, "analyzer.startup.capture_type", "pcap"), 0);
	events[0] = 0;
	int lid = capture_res_listen(r, on_event, NULL);
	assert_int_equal(capture_res_startup(r, cfg, err, sizeof(err)), 0);
	capture_res_unlisten(r, lid);
	assert_int_equal(events[CAPTURE_RES_CREATED], 1); /* dispatch hears of it */
	int n = 0;
	capture_res_foreach(r, count_startup, &n);
	assert_int_equal(n, 1);
	capture_res_free(r);

	/* a restart: the capture is there, no second one */
	r = capture_res_new(dir, NULL);
	assert_int_equal(capture_res_startup(r, cfg, err, sizeof(err)), 0);
	assert_int_equal(capture_res_count(r), 1);
	capture_res_free(r);

	/* one with the same query, filter and type but another setting counts too */
	char dir2[320];
	snprintf(dir2, sizeof(dir2), "%s/startup2", tmpdir);
	r = capture_res_new(dir2, NULL);
	assert_int_equal(call(r, "POST", "/api/capture", NULL, NULL,
			      "{\"GremlinQuery\":\"G.V().Has('Name', 'eth0')\",\"BPFFilter\":"
			      "\"port 80\",\"Type\":\"pcap\",\"RawPacketLimit\":3}", 0, NULL),
			 201);
	assert_int_equal(capture_res_startup(r, cfg, err, sizeof(err)), 0);
	assert_int_equal(capture_res_count(r), 1);
	/* a filter that does not compile: refused, with the key and the reason */
	assert_int_equal(config_set_string(cfg, "analyzer.startup.capture_bpf", "port eighty"), 0);
	assert_int_equal(capture_res_startup(r, cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "analyzer.startup.capture_gremlin 'G.V().Has('Name', 'eth0')'"));
	assert_non_null(strstr(err, "port eighty"));
	assert_int_equal(capture_res_count(r), 1);
	capture_res_free(r);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validation_table),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_node_types),
	    cmocka_unit_test(test_rest),
	    cmocka_unit_test(test_persistence),
	    cmocka_unit_test(test_startup_capture),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
