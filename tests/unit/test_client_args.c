/* test_client_args.c - unit tests of the client's common options (src/client/client_args.c):
 * finding the command word, taking the options, and their precedence as Skydive's client
 * documents it (flag, then environment, then configuration, then 127.0.0.1:8082). */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client_args.h"

#define WORD(...)                                                                                  \
	({                                                                                         \
		char *v[] = {"client", __VA_ARGS__};                                               \
		client_command_word((int)(sizeof(v) / sizeof(v[0])), v);                           \
	})

static void test_command_word(void **state)
{
	assert_string_equal(WORD("status"), "status");
	assert_string_equal(WORD("--analyzer", "h:1", "capture", "list"), "capture");
	assert_string_equal(WORD("--analyzer=h:1", "pcap"), "pcap");
	assert_string_equal(WORD("-c", "x.yml", "--insecure", "query", "G.V()"), "query");
	assert_string_equal(WORD("--trace", "f.pcap", "pcap"), "pcap");
	assert_string_equal(WORD("--format", "dot", "--", "topology"), "topology");
	assert_null(WORD("--insecure"));
	assert_null(WORD("--analyzer", "capture")); /* the value, not a command */
	char *none[] = {"client"};
	assert_null(client_command_word(1, none));
}

static void test_take_and_resolve(void **state)
{
	static const struct option opts[] = {CLIENT_ARGS_LONGOPTS, {NULL, 0, NULL, 0}};
	char *argv[] = {"client", "--username", "u", "--password", "p", "--cacert", "ca.pem",
			"--insecure", "--analyzer", "10.0.0.1:8082", "status"};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));
	struct client_args a;
	char err[256];
	assert_int_equal(client_args_init(&a, argc), 0);
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1)
		assert_int_equal(client_args_take(&a, c, optarg), 1);
	assert_int_equal(client_args_take(&a, 'f', "x"), 0);
	setenv("SKYDIVE_ANALYZER", "10.9.9.9:1", 1);
	setenv("SKYDIVE_USERNAME", "envuser", 1);
	assert_int_equal(client_args_resolve(&a, err, sizeof(err)), 0);
	/* flags beat the environment */
	assert_string_equal(a.o.analyzer, "10.0.0.1:8082");
	assert_string_equal(a.o.username, "u");
	assert_string_equal(a.o.password, "p");
	assert_string_equal(a.o.cacert, "ca.pem");
	assert_int_equal(a.o.insecure, 1);
	assert_non_null(a.o.host_id); /* host_id: the configuration's (the hostname) */
	client_args_free(&a);

	/* no flags: the environment, then the configuration's first analyzer */
	assert_int_equal(client_args_init(&a, 1), 0);
	assert_int_equal(client_args_resolve(&a, err, sizeof(err)), 0);
	assert_string_equal(a.o.analyzer, "10.9.9.9:1");
	assert_string_equal(a.o.username, "envuser");
	client_args_free(&a);
	unsetenv("SKYDIVE_ANALYZER");
	unsetenv("SKYDIVE_USERNAME");
	setenv("SKYDIVE_ANALYZERS", "10.8.8.8:2 10.8.8.9:3", 1);
	assert_int_equal(client_args_init(&a, 1), 0);
	assert_int_equal(client_args_resolve(&a, err, sizeof(err)), 0);
	assert_string_equal(a.o.analyzer, "10.8.8.8:2");
	assert_null(a.o.username);
	client_args_free(&a);
	unsetenv("SKYDIVE_ANALYZERS");
	assert_int_equal(client_args_init(&a, 1), 0);
	assert_int_equal(client_args_resolve(&a, err, sizeof(err)), 0);
	assert_string_equal(a.o.analyzer, "127.0.0.1:8082");
	client_args_free(&a);

	/* a configuration file that is not there */
	char *bad[] = {"client", "-c", "/nonexistent/skydive.yml"};
	assert_int_equal(client_args_init(&a, 3), 0);
	optind = 1;
	while ((c = getopt_long(3, bad, "c:", opts, NULL)) != -1)
		assert_int_equal(client_args_take(&a, c, optarg), 1);
	assert_int_equal(client_args_resolve(&a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/skydive.yml"));
	client_args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_word),
		cmocka_unit_test(test_take_and_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
