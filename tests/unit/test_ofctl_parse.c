/* test_ofctl_parse.c - unit tests of the ovs-ofctl flow/group text parser
 * (topology/ofctl_parse.h). The input lines are ovs-ofctl 3.1's own output, recorded
 * from the private OVS of tests/integration/ovs_oflow.sh (dump-flows with -O
 * OpenFlow10, OpenFlow13 and OpenFlow15, dump-groups with OpenFlow13 and 15); the
 * expected fields follow ovs-ofctl(8)'s flow syntax (a header of "key=value, " items,
 * then the match, then actions=; no priority= printed for the default 32768) and
 * the shapes of Skydive's jsonof parser (its ovs_rule_parser_test.go). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "topology/ofctl_parse.h"

static void parse_ok(const char *line, struct ofctl_rule *r)
{
	struct ofctl_error err = {0};
	int rc = ofctl_parse_rule(line, strlen(line), r, &err);
	if (rc)
		fail_msg("'%s': %d %s at %zu", line, rc, err.msg, err.pos);
}

/* Compares a JSON value with the expected JSON text (null for "null"). */
static void same_json(const json_t *got, const char *want)
{
	json_error_t je;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &je);
	assert_non_null(w);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		fail_msg("got %s\nwant %s", g ? g : "(null)", want);
	}
	json_decref(w);
}

static void test_default_rule(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0x0, duration=0.226s, table=0, n_packets=0, n_bytes=0, idle_age=0, "
		 "priority=0 actions=NORMAL",
		 &r);
	assert_int_equal(r.cookie, 0);
	assert_int_equal(r.table, 0);
	assert_int_equal(r.priority, 0);
	assert_string_equal(r.raw_filter, "");
	same_json(r.filters, "[]");
	same_json(r.actions, "[{\"Function\":\"NORMAL\"}]");
	same_json(r.meta, "[{\"Key\":\"duration\",\"Value\":\"0.226s\"},{\"Key\":\"n_packets\","
			  "\"Value\":\"0\"},{\"Key\":\"n_bytes\",\"Value\":\"0\"},{\"Key\":"
			  "\"idle_age\",\"Value\":\"0\"}]");
	json_t *md = ofctl_rule_metadata(&r, "u");
	/* Skydive's addRule: Cookie as "0x%x", Filters of a match-all rule null */
	same_json(md, "{\"Type\":\"ofrule\",\"Cookie\":\"0x0\",\"Table\":0,\"Filters\":null,"
		      "\"Actions\":[{\"Function\":\"NORMAL\"}],\"Priority\":0,\"UUID\":\"u\"}");
	json_decref(md);
	ofctl_rule_clear(&r);
}

/* No priority= printed: the flow has OFP_DEFAULT_PRIORITY; a masked match field. */
static void test_default_priority_mask(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0x0, duration=0.558s, table=1, n_packets=0, n_bytes=0, idle_age=0, "
		 "ip,nw_dst=10.0.0.0/24 actions=output:3\n",
		 &r);
	assert_int_equal(r.table, 1);
	assert_int_equal(r.priority, 32768);
	assert_string_equal(r.raw_filter, "ip,nw_dst:10.0.0.0/24");
	same_json(r.filters, "[{\"Key\":\"ip\",\"Value\":\"\"},{\"Key\":\"nw_dst\",\"Value\":"
			     "\"10.0.0.0\",\"Mask\":\"24\"}]");
	same_json(r.actions, "[{\"Function\":\"output\",\"Arguments\":[{\"Function\":\"3\"}]}]");
	char u[TOPOLOGY_ID_LEN];
	assert_int_equal(ofctl_rule_uuid(u, "/tmp/db.sock-br0-", &r), 0);
	/* python3: uuid.uuid5(uuid.NAMESPACE_OID,
	 *   "/tmp/db.sock-br0-ip,nw_dst:10.0.0.0/24-1-32768") */
	assert_string_equal(u, "286302d0-db66-5e71-9b42-c5c6867b1c46");
	ofctl_rule_clear(&r);
}

static void test_ct_exec_resubmit(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0xdeadbeef, duration=0.197s, table=5, n_packets=0, n_bytes=0, "
		 "idle_age=0, priority=10,ct_state=+new-rel+trk,ip,reg2=0x1 "
		 "actions=ct(commit,zone=NXM_NX_REG4[0..15],exec(move:NXM_NX_REG3[]->NXM_NX_CT_MARK[])),"
		 "resubmit(,6)",
		 &r);
	assert_true(r.cookie == 0xdeadbeefULL);
	assert_int_equal(r.table, 5);
	assert_int_equal(r.priority, 10);
	assert_string_equal(r.raw_filter, "ct_state:+new-rel+trk,ip,reg2:0x1");
	same_json(r.filters, "[{\"Key\":\"ct_state\",\"Value\":\"+new-rel+trk\"},{\"Key\":\"ip\","
			     "\"Value\":\"\"},{\"Key\":\"reg2\",\"Value\":\"0x1\"}]");
	same_json(r.actions,
		  "[{\"Function\":\"ct\",\"Arguments\":[{\"Function\":\"commit\"},"
		  "{\"Function\":\"range\",\"Arguments\":[{\"Function\":\"NXM_NX_REG4\"},"
		  "{\"Function\":\"0\"},{\"Function\":\"15\"}],\"Key\":\"zone\"},"
		  "{\"Function\":\"exec\",\"Arguments\":[{\"Function\":\"move\",\"Arguments\":["
		  "{\"Function\":\"range\",\"Arguments\":[{\"Function\":\"NXM_NX_REG3\"}]},"
		  "{\"Function\":\"range\",\"Arguments\":[{\"Function\":\"NXM_NX_CT_MARK\"}]}]}]}]},"
		  "{\"Function\":\"resubmit\",\"Arguments\":[null,{\"Function\":\"6\"}]}]");
	json_t *md = ofctl_rule_metadata(&r, "u");
	assert_string_equal(json_string_value(json_object_get(md, "Cookie")), "0xdeadbeef");
	json_decref(md);
	ofctl_rule_clear(&r);
}

/* OpenFlow 1.3 output: reset_counts between the header and the match. */
static void test_of13_reset_counts(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0x0, duration=0.189s, table=6, n_packets=0, n_bytes=0, "
		 "hard_timeout=505, reset_counts priority=10,in_port=2 "
		 "actions=set_queue:2,output:1,pop_queue",
		 &r);
	assert_int_equal(r.priority, 10);
	assert_string_equal(r.raw_filter, "in_port:2");
	same_json(r.filters, "[{\"Key\":\"in_port\",\"Value\":\"2\"}]");
	same_json(r.actions, "[{\"Function\":\"set_queue\",\"Arguments\":[{\"Function\":\"2\"}]},"
			     "{\"Function\":\"output\",\"Arguments\":[{\"Function\":\"1\"}]},"
			     "{\"Function\":\"pop_queue\"}]");
	json_t *last = json_array_get(r.meta, json_array_size(r.meta) - 1);
	same_json(last, "{\"Key\":\"reset_counts\",\"Value\":\"\"}");
	ofctl_rule_clear(&r);
}

/* OpenFlow 1.5 output: header items again after reset_counts. */
static void test_of15_header_after_flag(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0x0, duration=0.161s, table=9, n_packets=0, n_bytes=0, reset_counts "
		 "idle_age=0, priority=3,ip actions=set_field:0x1/0xff->reg0,"
		 "clone(set_field:10.0.0.3->ip_src,output:2),output:4",
		 &r);
	assert_int_equal(r.table, 9);
	assert_int_equal(r.priority, 3);
	assert_string_equal(r.raw_filter, "ip");
	same_json(r.actions,
		  "[{\"Function\":\"set_field\",\"Arguments\":[{\"Function\":\"0x1\"},"
		  "{\"Function\":\"0xff\"},{\"Function\":\"reg0\"}]},"
		  "{\"Function\":\"clone\",\"Arguments\":[{\"Function\":\"set_field\",\"Arguments\":"
		  "[{\"Function\":\"10.0.0.3\"},null,{\"Function\":\"ip_src\"}]},"
		  "{\"Function\":\"output\",\"Arguments\":[{\"Function\":\"2\"}]}]},"
		  "{\"Function\":\"output\",\"Arguments\":[{\"Function\":\"4\"}]}]");
	json_t *m = json_array_get(r.meta, 3);
	same_json(m, "{\"Key\":\"reset_counts\",\"Value\":\"\"}");
	same_json(json_array_get(r.meta, 4), "{\"Key\":\"idle_age\",\"Value\":\"0\"}");
	ofctl_rule_clear(&r);
}

static void test_actions_various(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0x0, duration=0.172s, table=7, n_packets=0, n_bytes=0, idle_age=0, "
		 "priority=1,udp,nw_src=192.168.1.0/24,tp_src=53 "
		 "actions=controller(userdata=01.02.03),mod_vlan_vid:100,output:NXM_NX_REG0[16..31]",
		 &r);
	same_json(r.actions,
		  "[{\"Function\":\"controller\",\"Arguments\":[{\"Function\":\"01.02.03\","
		  "\"Key\":\"userdata\"}]},{\"Function\":\"mod_vlan_vid\",\"Arguments\":"
		  "[{\"Function\":\"100\"}]},{\"Function\":\"output\",\"Arguments\":[{\"Function\":"
		  "\"range\",\"Arguments\":[{\"Function\":\"NXM_NX_REG0\"},{\"Function\":\"16\"},"
		  "{\"Function\":\"31\"}]}]}]");
	ofctl_rule_clear(&r);
	parse_ok(" cookie=0x0, duration=0.180s, table=6, n_packets=0, n_bytes=0, "
		 "hard_timeout=505, idle_age=0, priority=10,in_port=2 actions=enqueue:1:2",
		 &r);
	same_json(r.actions, "[{\"Function\":\"enqueue\",\"Arguments\":[{\"Function\":\"1\"},"
			     "{\"Function\":\"2\"}]}]");
	ofctl_rule_clear(&r);
	parse_ok(" cookie=0x0, duration=0.144s, table=9, n_packets=0, n_bytes=0, idle_age=0, "
		 "priority=3,ip actions=load:0x1->NXM_NX_REG0[0..7],clone(mod_nw_src:10.0.0.3,"
		 "output:2),output:4",
		 &r);
	same_json(json_array_get(r.actions, 0),
		  "{\"Function\":\"load\",\"Arguments\":[{\"Function\":\"0x1\"},{\"Function\":"
		  "\"range\",\"Arguments\":[{\"Function\":\"NXM_NX_REG0\"},{\"Function\":\"0\"},"
		  "{\"Function\":\"7\"}]}]}");
	ofctl_rule_clear(&r);
	parse_ok(" cookie=0x0, duration=0.157s, table=8, n_packets=0, n_bytes=0, idle_age=0, "
		 "priority=2,dl_dst=ff:ff:ff:ff:ff:ff actions=multipath(eth_src,50,modulo_n,1,0,"
		 "NXM_NX_REG0[0..7]),bundle_load(eth_src,50,hrw,ofport,NXM_NX_REG1[0..15],members:1,2)",
		 &r);
	assert_string_equal(r.raw_filter, "dl_dst:ff:ff:ff:ff:ff:ff");
	same_json(json_array_get(r.actions, 1),
		  "{\"Function\":\"bundle_load\",\"Arguments\":[{\"Function\":\"eth_src\"},"
		  "{\"Function\":\"50\"},{\"Function\":\"hrw\"},{\"Function\":\"ofport\"},"
		  "{\"Function\":\"range\",\"Arguments\":[{\"Function\":\"NXM_NX_REG1\"},"
		  "{\"Function\":\"0\"},{\"Function\":\"15\"}]},{\"Function\":\"members\","
		  "\"Arguments\":[{\"Function\":\"1\"}]},{\"Function\":\"2\"}]}");
	ofctl_rule_clear(&r);
}

/* learn(): field arguments become "=" assignments (Skydive's fixLearnArguments).
 * This line is Skydive's own sample (ovs_rule_parser_test.go "learn action"), the
 * shape ovs-ofctl prints for such a flow. */
static void test_learn(void **state)
{
	(void)state;
	struct ofctl_rule r;
	parse_ok(" cookie=0x0, duration=0.009s, table=0, n_packets=0, n_bytes=0, reset_counts "
		 "actions=learn(table=1,hard_timeout=60,NXM_OF_VLAN_TCI[0..11],"
		 "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)",
		 &r);
	assert_int_equal(r.priority, 32768);
	same_json(r.actions,
		  "[{\"Function\":\"learn\",\"Arguments\":[{\"Function\":\"1\",\"Key\":\"table\"},"
		  "{\"Function\":\"60\",\"Key\":\"hard_timeout\"},{\"Function\":\"range\","
		  "\"Arguments\":[{\"Function\":\"NXM_OF_VLAN_TCI\"},{\"Function\":\"0\"},"
		  "{\"Function\":\"11\"}]},{\"Function\":\"=\",\"Arguments\":[{\"Function\":"
		  "\"range\",\"Arguments\":[{\"Function\":\"NXM_OF_ETH_DST\"}]},{\"Function\":"
		  "\"range\",\"Arguments\":[{\"Function\":\"NXM_OF_ETH_SRC\"}]}]},{\"Function\":"
		  "\"output\",\"Arguments\":[{\"Function\":\"range\",\"Arguments\":[{\"Function\":"
		  "\"NXM_OF_IN_PORT\"}]}]}]},{\"Function\":\"resubmit\",\"Arguments\":[null,"
		  "{\"Function\":\"1\"}]}]");
	ofctl_rule_clear(&r);
}

static void parse_bad(const char *line, const char *msg_part, size_t pos)
{
	struct ofctl_rule r;
	struct ofctl_error err = {0};
	int rc = ofctl_parse_rule(line, strlen(line), &r, &err);
	if (rc != -EINVAL)
		fail_msg("'%s' gave %d", line, rc);
	if (!strstr(err.msg, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", line, err.msg, msg_part);
	if (pos != (size_t)-1 && err.pos != pos)
		fail_msg("'%s': position %zu, want %zu (%s)", line, err.pos, pos, err.msg);
	assert_null(r.filters);
	assert_null(r.raw_filter);
}

static void test_errors(void **state)
{
	(void)state;
	parse_bad("NXST_FLOW reply (xid=0x4):", "", (size_t)-1);
	parse_bad(" cookie=0x0, table=0, in_port=1", "ends before actions=", (size_t)-1);
	parse_bad(" cookie=zz, table=0, in_port=1 actions=drop", "cookie", 8);
	parse_bad(" cookie=0x0, table=256, in_port=1 actions=drop", "table", 19);
	parse_bad(" priority=70000 actions=drop", "priority", 10);
	parse_bad(" priority=1 actions=resubmit(,1", "',' or ')'", (size_t)-1);
	parse_bad(" priority=1 actions=load:0x1", "'->'", (size_t)-1);
	parse_bad(" priority=1 actions=output:X[0", "']'", (size_t)-1);
	parse_bad(" priority=1 actions=drop extra", "',' or the end", 24);
	char deep[256] = " priority=1 actions=";
	for (int i = 0; i < 20; i++)
		strcat(deep, "a(");
	strcat(deep, "x");
	for (int i = 0; i < 20; i++)
		strcat(deep, ")");
	parse_bad(deep, "nested deeper", (size_t)-1);
	parse_bad(" priority=1 actions=\xff", "UTF-8", (size_t)-1);
	assert_true(ofctl_is_item_line(" cookie=0x0", 11));
	assert_false(ofctl_is_item_line("NXST_FLOW reply (xid=0x4):", 26));
	assert_false(ofctl_is_item_line("  ", 2));
}

static void test_groups(void **state)
{
	(void)state;
	struct ofctl_group gr;
	struct ofctl_error err = {0};
	const char *l1 = " group_id=2,type=select,selection_method=hash,fields(eth_src,eth_dst),"
			 "bucket=bucket_id:0,weight:2,actions=output:2,bucket=bucket_id:1,"
			 "actions=output:3";
	assert_int_equal(ofctl_parse_group(l1, strlen(l1), &gr, &err), 0);
	assert_int_equal(gr.group_id, 2);
	assert_string_equal(gr.type, "select");
	same_json(gr.meta, "[{\"Key\":\"selection_method\",\"Value\":\"hash\"},{\"Key\":"
			   "\"fields(eth_src,eth_dst)\",\"Value\":\"\"}]");
	same_json(gr.buckets, "[{\"Id\":0,\"Meta\":[{\"Key\":\"weight:2\",\"Value\":\"\"}],"
			      "\"Actions\":[{\"Function\":\"output\",\"Arguments\":[{\"Function\":"
			      "\"2\"}]}]},{\"Id\":1,\"Actions\":[{\"Function\":\"output\","
			      "\"Arguments\":[{\"Function\":\"3\"}]}]}]");
	char u[TOPOLOGY_ID_LEN];
	assert_int_equal(ofctl_group_uuid(u, "/tmp/db.sock-br0-", 2), 0);
	/* python3: uuid.uuid5(uuid.NAMESPACE_OID, "/tmp/db.sock-br0--2") */
	assert_string_equal(u, "3c6b35fb-40bd-517d-be5d-15885c175015");
	json_t *md = ofctl_group_metadata(&gr, u);
	assert_string_equal(json_string_value(json_object_get(md, "Type")), "ofgroup");
	assert_int_equal(json_integer_value(json_object_get(md, "GroupId")), 2);
	assert_string_equal(json_string_value(json_object_get(md, "GroupType")), "select");
	json_decref(md);
	ofctl_group_clear(&gr);

	/* OpenFlow 1.3: no bucket ids (Id 0, as Skydive's zero value) */
	const char *l2 = " group_id=1,type=all,bucket=actions=output:1,bucket=actions="
			 "set_field:00:00:00:11:11:11->eth_src,output:2";
	assert_int_equal(ofctl_parse_group(l2, strlen(l2), &gr, &err), 0);
	assert_int_equal(gr.group_id, 1);
	same_json(gr.buckets,
		  "[{\"Id\":0,\"Actions\":[{\"Function\":\"output\",\"Arguments\":[{\"Function\":"
		  "\"1\"}]}]},{\"Id\":0,\"Actions\":[{\"Function\":\"set_field\",\"Arguments\":"
		  "[{\"Function\":\"00:00:00:11:11:11\"},null,{\"Function\":\"eth_src\"}]},"
		  "{\"Function\":\"output\",\"Arguments\":[{\"Function\":\"2\"}]}]}]");
	ofctl_group_clear(&gr);

	const char *l3 = " group_id=3,type=ff,bucket=bucket_id:0,watch_port:1,actions=output:1";
	assert_int_equal(ofctl_parse_group(l3, strlen(l3), &gr, &err), 0);
	same_json(gr.buckets, "[{\"Id\":0,\"Meta\":[{\"Key\":\"watch_port:1\",\"Value\":\"\"}],"
			      "\"Actions\":[{\"Function\":\"output\",\"Arguments\":[{\"Function\":"
			      "\"1\"}]}]}]");
	ofctl_group_clear(&gr);

	const char *bad = " type=all,bucket=actions=output:1";
	assert_int_equal(ofctl_parse_group(bad, strlen(bad), &gr, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "group_id"));
	const char *bad2 = " group_id=1,type=all,bucket=bucket_id:0";
	assert_int_equal(ofctl_parse_group(bad2, strlen(bad2), &gr, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "without actions"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_rule),
		cmocka_unit_test(test_default_priority_mask),
		cmocka_unit_test(test_ct_exec_resubmit),
		cmocka_unit_test(test_of13_reset_counts),
		cmocka_unit_test(test_of15_header_after_flag),
		cmocka_unit_test(test_actions_various),
		cmocka_unit_test(test_learn),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
