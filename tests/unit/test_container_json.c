/* test_container_json.c - unit tests of the container probes' mappings
 * (src/topology/container_json.c) with the cases of Skydive's runc_test.go (its
 * state.json, labels and Kubernetes hosts file, with the values it expects) and a
 * Docker inspect document as Docker 20.10 answers (docker.go registerContainer: Name
 * without '/', Config.Image, Image, State.Status, State.Pid, Config.Labels). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "topology/container.h"

static const char state_content[] =
	"{\"id\": \"c96f6a897a632970bd4d0aa34f94452a4ce236b1dc239bf010bcf12f98d5bc56\","
	" \"init_process_pid\": 31046, \"init_process_start\": 541882281,"
	" \"created\": \"2019-02-19T09:11:38.404438797Z\","
	" \"config\": {\"mounts\": ["
	"  {\"source\": \"/var/data/cripersistentstorage/resolv.conf\", \"destination\": "
	"\"/etc/resolv.conf\"},"
	"  {\"source\": \"/var/data/kubelet/pods/5b9a9c62-3426-11e9-9f59-76f6e92e93c2/etc-hosts\","
	"   \"destination\": \"/etc/hosts\"}]}}";

static const char hosts_content[] = "# Kubernetes-managed hosts file.\n"
				    "127.0.0.1\tlocalhost\n"
				    "::1\tlocalhost ip6-localhost ip6-loopback\n"
				    "fe00::0\tip6-localnet # 1 space\n"
				    "fe00::0\t ip6-mcastprefix # 2 spaces\n"
				    "fe00::1\tip6-allnodes # 1 tab\n"
				    "fe00::2\t\tip6-allrouters # 1 space; 1 tab\n"
				    "172.30.247.227\tmyapp";

static void test_runc_state(void **st)
{
	(void)st;
	json_t *j = json_loads(state_content, 0, NULL);
	assert_non_null(j);
	struct container_desc d;
	char err[256];
	assert_int_equal(container_from_runc(j, &d, err, sizeof(err)), 0);
	json_decref(j);
	assert_string_equal(d.id, "c96f6a897a632970bd4d0aa34f94452a4ce236b1dc239bf010bcf12f98d5bc56");
	assert_string_equal(d.name, d.id); /* runc.go: Name = state.ID */
	assert_int_equal(d.pid, 31046);
	assert_int_equal(d.start, 541882281);
	/* runc_test.go TestGetHostsFromState */
	assert_string_equal(d.hosts_path,
			    "/var/data/kubelet/pods/5b9a9c62-3426-11e9-9f59-76f6e92e93c2/etc-hosts");
	assert_null(d.bundle);
	container_set_status(&d, "running", NULL);
	json_t *want = json_pack("{ss ss ss sI s{}}", "ID", d.id, "Runtime", "runc", "Status",
				 "running", "InitProcessPID", (json_int_t)31046, "Hosts");
	assert_true(json_equal(d.md, want)); /* no Labels, no Image: omitted */
	json_decref(want);
	container_desc_clear(&d);

	/* init_process_start as a string (runc before 1.0), refusals */
	j = json_loads("{\"id\": \"a\", \"init_process_pid\": 7, \"init_process_start\": \"99\"}", 0,
		       NULL);
	assert_int_equal(container_from_runc(j, &d, err, sizeof(err)), 0);
	assert_int_equal(d.start, 99);
	container_desc_clear(&d);
	json_decref(j);
	static const char *const bad[] = {
		"[]", "{}", "{\"id\": 3}", "{\"id\": \"\"}", "{\"id\": \"a\", \"init_process_pid\": \"7\"}",
		"{\"id\": \"a\", \"init_process_start\": \"x9\"}", "{\"id\": \"a\", \"config\": []}",
		"{\"id\": \"a\", \"config\": {\"labels\": {}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		err[0] = 0;
		assert_int_equal(container_from_runc(j, &d, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
		json_decref(j);
	}
}

static void test_runc_labels(void **st)
{
	(void)st;
	/* runc_test.go TestLabels: io.kubernetes.container.ports.containerPort == 9090 */
	json_t *in = json_pack("[ssss]",
			       "io.kubernetes.container.ports={\"containerPort\":9090,\"protocol\":\"TCP\"}",
			       "io.kubernetes.pod.namespace=kube-system", "no-value", "bundle=/run/b");
	size_t skipped = 0;
	json_t *l = container_runc_labels(in, &skipped);
	json_decref(in);
	assert_non_null(l);
	assert_int_equal(skipped, 1); /* "Label format should be key=value" */
	json_t *ports = json_object_get(
		json_object_get(json_object_get(json_object_get(l, "io"), "kubernetes"), "container"),
		"ports");
	assert_int_equal(json_integer_value(json_object_get(ports, "containerPort")), 9090);
	assert_string_equal(json_string_value(json_object_get(ports, "protocol")), "TCP");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_object_get(json_object_get(l, "io"), "kubernetes"), "pod"),
							      "namespace")),
			    "kube-system");
	assert_string_equal(json_string_value(json_object_get(l, "bundle")), "/run/b");
	json_decref(l);
}

static void test_hosts(void **st)
{
	(void)st;
	/* runc_test.go TestReadHosts */
	json_t *h = container_hosts_parse(hosts_content, strlen(hosts_content));
	assert_non_null(h);
	assert_string_equal(json_string_value(json_object_get(h, "IP")), "172.30.247.227");
	assert_string_equal(json_string_value(json_object_get(h, "Hostname")), "myapp");
	json_t *by = json_object_get(h, "ByIP");
	assert_non_null(json_object_get(by, "172.30.247.227"));
	/* ReadHosts skips loopback addresses; fe00:: lines are kept, fe00::0 printed as Go does */
	assert_null(json_object_get(by, "127.0.0.1"));
	assert_null(json_object_get(by, "::1"));
	assert_non_null(json_object_get(by, "fe00::"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(by, "fe00::2"), 0)),
			    "ip6-allrouters");
	json_decref(h);

	/* names lowercased, an IPv4-mapped address printed as IPv4, no names: skipped */
	static const char t2[] = "::ffff:10.0.0.1 Web WWW\n10.9.9.9\n";
	h = container_hosts_parse(t2, strlen(t2));
	assert_string_equal(json_string_value(json_object_get(h, "IP")), "10.0.0.1");
	assert_string_equal(json_string_value(json_object_get(h, "Hostname")), "www");
	json_t *names = json_object_get(json_object_get(h, "ByIP"), "10.0.0.1");
	assert_int_equal(json_array_size(names), 2);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "web");
	json_decref(h);

	/* nothing but loopback: an empty Hosts ({}), as Skydive's zero Hosts */
	h = container_hosts_parse("127.0.0.1 localhost\n", 20);
	assert_int_equal(json_object_size(h), 0);
	json_decref(h);
}

static void test_create_config(void **st)
{
	(void)st;
	json_t *j = json_loads("{\"id\": \"x\", \"init_process_pid\": 5, \"config\": {\"labels\": "
			       "[\"bundle=/b\", \"a=1\"]}}",
			       0, NULL);
	struct container_desc d;
	char err[128];
	assert_int_equal(container_from_runc(j, &d, err, sizeof(err)), 0);
	json_decref(j);
	assert_string_equal(d.bundle, "/b");
	json_t *cc = json_pack("{ss ss s{ss}}", "Image", "busybox", "ImageID", "sha256:1", "Labels",
			       "k", "v");
	assert_int_equal(container_merge_create_config(&d, cc), 0);
	json_decref(cc);
	assert_string_equal(json_string_value(json_object_get(d.md, "Image")), "busybox");
	assert_string_equal(json_string_value(json_object_get(d.md, "ImageID")), "sha256:1");
	json_t *l = json_object_get(d.md, "Labels");
	assert_string_equal(json_string_value(json_object_get(l, "k")), "v");
	assert_int_equal(json_integer_value(json_object_get(l, "a")), 1);
	assert_string_equal(json_string_value(json_object_get(l, "bundle")), "/b");
	cc = json_array();
	assert_int_equal(container_merge_create_config(&d, cc), -EINVAL);
	json_decref(cc);
	container_desc_clear(&d);
}

static void test_docker_inspect(void **st)
{
	(void)st;
	json_t *j = json_loads(
		"{\"Id\": \"24e07753f0e0\", \"Name\": \"/web\", \"Image\": \"sha256:df0f\","
		" \"State\": {\"Status\": \"running\", \"Running\": true, \"Pid\": 32191},"
		" \"Config\": {\"Image\": \"bb:local\", \"Labels\": {\"com.example.team\": \"blue\"}},"
		" \"NetworkSettings\": {\"SandboxKey\": \"/var/run/docker/netns/943d2e525a05\"}}",
		0, NULL);
	assert_non_null(j);
	struct container_desc d;
	char err[256];
	assert_int_equal(container_from_docker(j, &d, err, sizeof(err)), 0);
	json_decref(j);
	assert_string_equal(d.name, "web");
	assert_string_equal(d.netns_path, "/var/run/docker/netns/943d2e525a05");
	assert_int_equal(d.pid, 32191);
	json_t *want = json_pack("{ss ss ss ss ss sI s{} s{ss}}", "ID", "24e07753f0e0", "Image",
				 "bb:local", "ImageID", "sha256:df0f", "Runtime", "docker", "Status",
				 "running", "InitProcessPID", (json_int_t)32191, "Hosts", "Labels",
				 "com.example.team", "blue"); /* Docker's label keys kept flat */
	assert_true(json_equal(d.md, want));
	json_decref(want);
	container_desc_clear(&d);

	/* no labels, no sandbox: Labels omitted, netns path "" */
	j = json_loads("{\"Id\": \"1\", \"Name\": \"/a\", \"Config\": {\"Labels\": null}}", 0, NULL);
	assert_int_equal(container_from_docker(j, &d, err, sizeof(err)), 0);
	assert_null(json_object_get(d.md, "Labels"));
	assert_null(json_object_get(d.md, "Image"));
	assert_string_equal(d.netns_path, "");
	container_desc_clear(&d);
	json_decref(j);
	static const char *const bad[] = {
		"3", "{\"Name\": \"/a\"}", "{\"Id\": \"1\"}", "{\"Id\": \"1\", \"Name\": \"/\"}",
		"{\"Id\": \"1\", \"Name\": \"/a\", \"State\": {\"Pid\": \"3\"}}",
		"{\"Id\": \"1\", \"Name\": \"/a\", \"State\": []}",
		"{\"Id\": \"1\", \"Name\": \"/a\", \"Config\": {\"Labels\": []}}",
		"{\"Id\": \"1\", \"Name\": \"/a\", \"NetworkSettings\": {\"SandboxKey\": 1}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		err[0] = 0;
		assert_int_equal(container_from_docker(j, &d, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc_state),	  cmocka_unit_test(test_runc_labels),
		cmocka_unit_test(test_hosts),		  cmocka_unit_test(test_create_config),
		cmocka_unit_test(test_docker_inspect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
