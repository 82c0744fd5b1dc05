/* test_capture_afpacket.c - an AF_PACKET capture receives from the moment it
 * is opened (before the caller reports it active and before its first read),
 * only its interface's frames, only those its filter passes, each frame once
 * in a fanout group.
 *
 * Runs as root (scripts/test.sh does): the test moves itself into a network
 * namespace of its own (unshare), where it makes two veth pairs; nothing
 * outside that namespace is touched and it goes with the process. Frames are
 * of the local experimental EtherTypes 0x88b5/0x88b6 (IEEE 802), so no
 * other traffic of the namespace is counted. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/capture.h"

#define ETH_A 0x88b5
#define ETH_B 0x88b6

static int tx = -1; /* AF_PACKET socket that sends on the peers */

static int setup(void **state)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_capture_afpacket needs root (a network namespace)\n");
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (system("ip link add skafa type veth peer name skafb && "
		   "ip link add skafc type veth peer name skafd && "
		   "ip link set skafa up && ip link set skafb up && "
		   "ip link set skafc up && ip link set skafd up")) {
		fprintf(stderr, "cannot make the veth pairs\n");
		return -1;
	}
	tx = socket(AF_PACKET, SOCK_RAW, 0);
	return tx < 0 ? -1 : 0;
}

/* Sends n frames of EtherType type on ifname, the k-th with source MAC
 * ending in base + k (a flow of its own). */
static void send_frames(const char *ifname, uint16_t type, int n, int base)
{
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_halen = 6;
	assert_true(sll.sll_ifindex > 0);
	for (int k = 0; k < n; k++) {
		uint8_t f[60];
		memset(f, 0, sizeof(f));
		memset(f, 0xff, 6);
		f[6] = 2;
		f[11] = (uint8_t)(base + k);
		f[12] = (uint8_t)(type >> 8);
		f[13] = (uint8_t)type;
		memcpy(f + 14, "skydive-test", 12);
		assert_int_equal(sendto(tx, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)),
				 (ssize_t)sizeof(f));
	}
}

struct count {
	int a, b;
};

static void on_frame(void *user, const struct capture_frame *f)
{
	struct count *c = user;
	if (f->caplen < 26 || memcmp(f->data + 14, "skydive-test", 12))
		return;
	uint16_t t = (uint16_t)(f->data[12] << 8 | f->data[13]);
	c->a += t == ETH_A;
	c->b += t == ETH_B;
}

/* Reads caps until want test frames arrived in all, or 5 reads in a row
 * brought nothing (each waits up to the 100 ms block timeout). */
static struct count drain(struct capture **caps, int n, int want)
{
	struct count c = {0, 0};
	for (int idle = 0; idle < 5 && c.a + c.b < want;) {
		int got = 0;
		for (int i = 0; i < n; i++) {
			int r = capture_dispatch(caps[i], 0, on_frame, &c);
			assert_true(r >= 0);
			got += r;
		}
		idle = got ? 0 : idle + 1;
	}
	/* and one more round: nothing beyond want (duplicates) */
	for (int i = 0; i < n; i++)
		capture_dispatch(caps[i], 0, on_frame, &c);
	return c;
}

static struct capture *open_on(const char *ifname, int group, const char *bpf)
{
	char err[512] = "";
	struct capture_live_opts o = {.ifname = ifname, .fanout_group = group, .bpf = bpf};
	struct capture *c = capture_open_afpacket(&o, err, sizeof(err));
	if (!c)
		fprintf(stderr, "open %s: %s\n", ifname, err);
	assert_non_null(c);
	return c;
}

/* Frames sent after the open, before any read, are all there (a socket
 * bound only at the first read lost them). */
static void test_receives_from_open(void **state)
{
	struct capture *c = open_on("skafb", 0, NULL);
	send_frames("skafa", ETH_A, 3, 0);
	struct count n = drain(&c, 1, 3);
	assert_int_equal(n.a, 3);
	capture_close(c);
}

/* The filter given at open applies to the first frame; frames of another
 * interface never arrive. */
static void test_filter_and_interface(void **state)
{
	struct capture *c = open_on("skafb", 0, "ether proto 0x88b5");
	send_frames("skafa", ETH_B, 2, 0);
	send_frames("skafc", ETH_A, 4, 0); /* reaches skafd, not skafb */
	send_frames("skafa", ETH_A, 2, 0);
	struct count n = drain(&c, 1, 2);
	assert_int_equal(n.a, 2);
	assert_int_equal(n.b, 0);
	capture_close(c);
}

/* Two workers in a fanout group: frames sent between the two opens and
 * after, each counted once in all. */
static void test_fanout_each_frame_once(void **state)
{
	struct capture *c[2];
	c[0] = open_on("skafb", 0x5a17, NULL);
	send_frames("skafa", ETH_A, 3, 0);
	c[1] = open_on("skafb", 0x5a17, NULL);
	send_frames("skafa", ETH_A, 8, 10);
	struct count n = drain(c, 2, 11);
	assert_int_equal(n.a, 11);
	capture_close(c[0]);
	capture_close(c[1]);
}

/* A filter that does not compile is refused at open. */
static void test_bad_filter(void **state)
{
	char err[512] = "";
	struct capture_live_opts o = {.ifname = "skafb", .bpf = "no such filter ("};
	assert_null(capture_open_afpacket(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "no such filter ("));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_receives_from_open),
		cmocka_unit_test(test_filter_and_interface),
		cmocka_unit_test(test_fanout_each_frame_once),
		cmocka_unit_test(test_bad_filter),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
